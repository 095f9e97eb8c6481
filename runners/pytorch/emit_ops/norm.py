"""BatchNormalization, InstanceNormalization, LayerNormalization, LRN, LpNormalization,
MeanVarianceNormalization."""

import numpy as np

from ..codegen import EMIT, lit


@EMIT.register("BatchNormalization")
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    x = node.inputs[0]
    rank = ctx.rank(x) or 4
    if training_mode:
        _batch_norm_training(node, ctx, epsilon, momentum, rank)
        return
    consts = [ctx.const(node.input(i)) for i in range(1, 5)]
    if any(c is None for c in consts):  # statistics or affine parameters computed at run time
        scale, bias, mean, var = (ctx.x(node.input(i)) for i in range(1, 5))
        _functional(node, ctx, ctx.x(x), mean, var, scale, bias, epsilon)
        return
    scale, bias, mean, var = consts
    n = {2: 1, 3: 1, 4: 2, 5: 3}.get(rank)
    if n is None:
        raise ctx.fail("batch normalization of a %d-D tensor" % rank)
    opts = ""
    if abs(epsilon - 1e-5) > 1e-12:
        opts += ", eps=%s" % lit(np.float32(epsilon))
    if abs(momentum - 0.9) > 1e-7:
        opts += ", momentum=%s" % lit(np.float32(1.0 - momentum))
    params = {
        "weight": scale,
        "bias": bias,
        "running_mean": mean,
        "running_var": var,
        "num_batches_tracked": np.array(0, dtype=np.int64),
    }
    name = node.inputs[1]
    mod = ctx.module(node, "nn.BatchNorm%dd(%d%s)" % (n, scale.shape[0], opts), params, hint=ctx.weight_hint(name))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)), outputs=node.outputs[:1], prefer=mod)


def _functional(node, ctx, x, mean, var, scale, bias, epsilon):
    """F.batch_norm with the given statistics (in eval mode: torch updates nothing)."""
    args = (x, mean, var, scale, bias, lit(np.float32(epsilon)))
    ctx.assign(node, "F.batch_norm(%s, %s, %s, %s, %s, eps=%s)" % args, outputs=node.outputs[:1])


def _batch_norm_training(node, ctx, epsilon, momentum, rank):
    """training_mode=1: normalized with the batch's statistics (the variance without Bessel's
    correction, as ONNX's reference computes it), running statistics blended with `momentum`."""
    x = ctx.x(node.inputs[0])
    scale, bias, mean, var = (ctx.x(node.input(i)) for i in range(1, 5))
    dims = lit(tuple(i for i in range(rank) if i != 1))
    batch_mean = ctx.local("batch_mean", "torch.mean(%s, dim=%s)" % (x, dims))
    batch_var = ctx.local("batch_var", "torch.var(%s, dim=%s, correction=0)" % (x, dims))
    _functional(node, ctx, x, batch_mean, batch_var, scale, bias, epsilon)
    m = lit(np.float32(momentum))
    outputs = list(node.outputs) + ["", ""]
    if outputs[1]:
        ctx.assign(node, "%s * %s + %s * (1 - %s)" % (mean, m, batch_mean, m), outputs=outputs[1:2])
    if outputs[2]:
        ctx.assign(node, "%s * %s + %s * (1 - %s)" % (var, m, batch_var, m), outputs=outputs[2:3])


@EMIT.register("InstanceNormalization")
def instance_norm(node, ctx, epsilon=1e-5):
    x = node.inputs[0]
    scale = ctx.const(node.input(1))
    bias = ctx.const(node.input(2))
    eps = lit(np.float32(epsilon))
    if scale is None or bias is None:
        ctx.assign(node, "F.instance_norm(%s, weight=%s, bias=%s, eps=%s)"
                   % (ctx.x(x), ctx.x(node.input(1)), ctx.x(node.input(2)), eps))  # fmt: skip
        return
    rank = ctx.need_rank(x)
    n = rank - 2
    if n not in (1, 2, 3):
        raise ctx.fail("instance normalization of a %d-D tensor" % rank)
    mod = ctx.module(
        node,
        "nn.InstanceNorm%dd(%d, eps=%s, affine=True)" % (n, scale.shape[0], eps),
        {"weight": scale, "bias": bias},
        hint=ctx.weight_hint(node.inputs[1]),
    )
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)), prefer=mod)


@EMIT.register("LayerNormalization")
def layer_norm(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    """nn.LayerNorm over the dims from `axis` on (F.layer_norm when scale or bias is computed); the
    optional Mean and InvStdDev outputs computed beside it."""
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    axis = axis + rank if axis < 0 else axis
    normalized = _normalized_shape(node, ctx, axis, rank)
    scale = ctx.const(node.input(1))
    bias = ctx.const(node.input(2)) if node.input(2) else None
    eps = lit(np.float32(epsilon))
    if scale is not None and (bias is not None or not node.input(2)):
        params = {"weight": np.broadcast_to(scale, normalized).copy()}
        if bias is not None:
            params["bias"] = np.broadcast_to(bias, normalized).copy()
        opts = "" if abs(epsilon - 1e-5) < 1e-12 else ", eps=%s" % eps
        if bias is None:
            opts += ", bias=False"
        ctor = "nn.LayerNorm(%s%s)" % (lit(normalized), opts)
        mod = ctx.module(node, ctor, params, hint=ctx.weight_hint(node.inputs[1]))
        ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)), outputs=node.outputs[:1], prefer=mod)
    else:
        affine = [_as_shape(ctx, node.input(1), normalized)]
        affine.append(_as_shape(ctx, node.input(2), normalized) if node.input(2) else "None")
        args = (ctx.x(x), lit(normalized)) + tuple(affine) + (eps,)
        ctx.assign(node, "F.layer_norm(%s, %s, %s, %s, eps=%s)" % args, outputs=node.outputs[:1])
    stats = [o for o in list(node.outputs)[1:3] if o]
    if not stats:
        return
    src = ctx.x(x)
    if stash_type == 1 and ctx.dtype(x) != np.float32:
        src = ctx.local("%s_float" % src, "%s.float()" % src)  # statistics in float32, as stash_type asks
    dims = lit(tuple(range(axis, rank)))
    outputs = list(node.outputs) + [""]
    if outputs[1]:
        ctx.assign(node, "torch.mean(%s, dim=%s, keepdim=True)" % (src, dims), outputs=outputs[1:2])
    if outputs[2]:
        var = "torch.var(%s, dim=%s, correction=0, keepdim=True)" % (src, dims)
        ctx.assign(node, "torch.rsqrt(%s + %s)" % (var, eps), outputs=outputs[2:3])


def _normalized_shape(node, ctx, axis, rank):
    """The normalized dims (those from `axis` on): from the input's shape, or the scale's."""
    shape = ctx.shape(node.inputs[0])
    dims = shape[axis:] if shape is not None else None
    if dims is None or any(d is None or d <= 0 for d in dims):
        scale_shape = ctx.static_shape(node.input(1))
        if scale_shape is None or len(scale_shape) != rank - axis:
            raise ctx.fail("LayerNormalization needs the sizes of the normalized dims", "missing-input-shape")
        dims = scale_shape
    return tuple(int(d) for d in dims)


def _as_shape(ctx, name, shape):
    """A scale or bias in the normalized shape F.layer_norm wants (ONNX broadcasts them)."""
    if ctx.static_shape(name) == list(shape):
        return ctx.x(name)
    return "%s.expand(%s)" % (ctx.x(name), lit(tuple(shape)))


@EMIT.register("LRN")
def lrn(node, ctx, size=None, alpha=0.0001, beta=0.75, bias=1.0):
    if size % 2 == 0:  # legalized by the broker (LACKS)
        raise ctx.fail("LRN with an even size pads differently in torch")
    mod = ctx.module(
        node,
        "nn.LocalResponseNorm(%d, alpha=%s, beta=%s, k=%s)"
        % (size, lit(np.float32(alpha)), lit(np.float32(beta)), lit(np.float32(bias))),
    )
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])))


@EMIT.register("LpNormalization")
def lp_normalization(node, ctx, axis=-1, p=2):
    """F.normalize divides by max(norm, 1e-12): a zero vector stays zero, as ONNX defines."""
    ctx.assign(node, "F.normalize(%s, p=%s, dim=%d)" % (ctx.x(node.inputs[0]), lit(float(p)), axis))


@EMIT.register("MeanVarianceNormalization")
def mean_variance_normalization(node, ctx, axes=(0, 2, 3)):
    """(x - mean) / (std + 1e-9), the epsilon of ONNX's function body."""
    x = ctx.x(node.inputs[0])
    dims = lit(tuple(int(a) for a in axes))
    mean = "torch.mean(%s, dim=%s, keepdim=True)" % (x, dims)
    std = "torch.std(%s, dim=%s, correction=0, keepdim=True)" % (x, dims)
    ctx.assign(node, "(%s - %s) / (%s + 1e-9)" % (x, mean, std))

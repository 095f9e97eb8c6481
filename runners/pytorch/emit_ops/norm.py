"""BatchNormalization, InstanceNormalization, LayerNormalization, LRN."""

import numpy as np

from ..codegen import EMIT, lit


@EMIT.register("BatchNormalization")
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training_mode=1 batch normalization")
    x = node.inputs[0]
    scale = ctx.need_const(node, 1, "scale")
    bias = ctx.need_const(node, 2, "bias")
    mean = ctx.need_const(node, 3, "mean")
    var = ctx.need_const(node, 4, "variance")
    rank = ctx.rank(x) or 4
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


@EMIT.register("InstanceNormalization")
def instance_norm(node, ctx, epsilon=1e-5):
    x = node.inputs[0]
    scale = ctx.need_const(node, 1, "scale")
    bias = ctx.need_const(node, 2, "bias")
    rank = ctx.need_rank(x)
    n = rank - 2
    if n not in (1, 2, 3):
        raise ctx.fail("instance normalization of a %d-D tensor" % rank)
    mod = ctx.module(
        node,
        "nn.InstanceNorm%dd(%d, eps=%s, affine=True)" % (n, scale.shape[0], lit(np.float32(epsilon))),
        {"weight": scale, "bias": bias},
        hint=ctx.weight_hint(node.inputs[1]),
    )
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)), prefer=mod)


@EMIT.register("LayerNormalization")
def layer_norm(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    if len([o for o in node.outputs if o]) > 1:
        raise ctx.fail("LayerNormalization mean/inv-std outputs are not supported")
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    axis = axis + len(shape) if axis < 0 else axis
    normalized = tuple(shape[axis:])
    scale = ctx.need_const(node, 1, "scale")
    bias = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(2) and bias is None:
        raise ctx.fail("the bias must be a constant")
    params = {"weight": np.broadcast_to(scale, normalized).copy()}
    if bias is not None:
        params["bias"] = np.broadcast_to(bias, normalized).copy()
    opts = "" if abs(epsilon - 1e-5) < 1e-12 else ", eps=%s" % lit(np.float32(epsilon))
    if bias is None:
        opts += ", bias=False"
    mod = ctx.module(node, "nn.LayerNorm(%s%s)" % (lit(normalized), opts), params, hint=ctx.weight_hint(node.inputs[1]))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)), outputs=node.outputs[:1], prefer=mod)


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

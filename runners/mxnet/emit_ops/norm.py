"""BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization, LRN,
LpNormalization, MeanVarianceNormalization."""

import numpy as np

from ..codegen import EMIT, lit


def _channel_view(ctx, name, rank):
    """A per-channel value (C,) reshaped to broadcast over N C ... (1, C, 1, ...)."""
    return ctx.call("reshape", ctx.x(name), shape=(1, -1) + (1,) * (rank - 2))


@EMIT.register("BatchNormalization")
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    """MXNet's BatchNorm with constant statistics; otherwise (statistics computed at run time, or
    training mode's batch statistics) the formula, with broadcast per-channel values."""
    x, scale, bias, mean, var = (node.input(i) for i in range(5))
    rank = ctx.need_rank(x)
    stats_const = all(ctx.const(n) is not None for n in (mean, var))
    if not training_mode and stats_const and rank >= 2:
        ctx.assign(node, ctx.call(
            "BatchNorm",
            ctx.x(x),
            ctx.x(scale),
            ctx.x(bias),
            ctx.x(mean),
            ctx.x(var),
            eps=float(epsilon),
            fix_gamma=False,
            use_global_stats=True,
        ))  # fmt: skip
        return
    if rank < 2:
        raise ctx.fail("BatchNormalization of a %d-D input" % rank)
    src = ctx.x(x)
    axes = tuple([0] + list(range(2, rank)))
    if training_mode:
        m = ctx.temp(ctx.call("mean", src, axis=axes, keepdims=True), "mean")
        centered = ctx.temp(ctx.call("broadcast_sub", src, m), "centered")
        v = ctx.temp(ctx.call("mean", ctx.call("square", centered), axis=axes, keepdims=True), "var")
    else:
        m, v = _channel_view(ctx, mean, rank), _channel_view(ctx, var, rank)
        centered = ctx.temp(ctx.call("broadcast_sub", src, m), "centered")
    norm = ctx.temp(ctx.call("broadcast_div", centered, ctx.call("sqrt", "(%s + %s)" % (v, lit(float(epsilon))))),
                    "norm")  # fmt: skip
    scaled = ctx.temp(ctx.call("broadcast_mul", norm, _channel_view(ctx, scale, rank)), "scaled")
    ctx.assign(node, ctx.call("broadcast_add", scaled, _channel_view(ctx, bias, rank)))
    if training_mode:
        for k, (stat, running) in enumerate(((m, mean), (v, var)), start=1):
            if len(node.outputs) > k and node.outputs[k]:
                current = ctx.call("reshape", stat, shape=(-1,))
                blend = "(%s * %s + %s * %s)" % (ctx.x(running), lit(float(momentum)), current,
                                                 lit(1.0 - float(momentum)))  # fmt: skip
                ctx.assign(node, blend, output=node.outputs[k])


@EMIT.register("InstanceNormalization")
def instance_norm(node, ctx, epsilon=1e-5):
    x = ctx.x(node.input(0))
    ctx.assign(node, ctx.call("InstanceNorm", x, ctx.x(node.input(1)), ctx.x(node.input(2)), eps=float(epsilon)))


@EMIT.register("LayerNormalization")
def layer_norm(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    """MXNet's LayerNorm normalizes one axis: the normalized axes are merged into one first. The
    optional Mean and InvStdDev outputs are computed beside it."""
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    axis = int(axis) % rank
    inner = shape[axis:]
    size = int(np.prod(inner))
    affine = []
    for i, default in ((1, 1.0), (2, 0.0)):
        name = node.input(i)
        value = ctx.const(name) if name else np.full(inner, default, dtype=ctx.dtype(x) or np.float32)
        if value is not None:
            affine.append(ctx.param((name or node.outputs[0] + "_beta") + "_flat",
                                    np.broadcast_to(value, inner).reshape(-1).copy()))  # fmt: skip
        elif ctx.need_shape(name) == inner:
            affine.append(ctx.call("reshape", ctx.x(name), shape=(-1,)))
        else:
            raise ctx.fail("LayerNormalization with a computed, broadcast scale or bias is not converted to MXNet")
    src = ctx.x(x)
    if axis != rank - 1:
        src = ctx.temp(ctx.call("reshape", src, shape=tuple(shape[:axis]) + (size,)), "merged")
    expr = ctx.call("LayerNorm", src, affine[0], affine[1], axis=-1, eps=float(epsilon))
    if axis != rank - 1:
        expr = ctx.call("reshape", ctx.temp(expr, "norm"), shape=tuple(shape))
    ctx.assign(node, expr)
    if any(o for o in node.outputs[1:]):
        axes = tuple(range(axis, rank))
        m = ctx.temp(ctx.call("mean", ctx.x(x), axis=axes, keepdims=True), "mean")
        centered = ctx.call("broadcast_sub", ctx.x(x), m)
        var = ctx.temp(ctx.call("mean", ctx.call("square", centered), axis=axes, keepdims=True), "var")
        stats = {1: ctx.call("identity", m), 2: ctx.call("rsqrt", "(%s + %s)" % (var, lit(float(epsilon))))}
        for k, value in stats.items():
            if len(node.outputs) > k and node.outputs[k]:
                ctx.assign(node, value, output=node.outputs[k])


@EMIT.register("GroupNormalization")
def group_norm(node, ctx, epsilon=1e-5, num_groups=None, stash_type=1):
    """Opset 18's scale and bias have one value per group, as MXNet's GroupNorm takes them."""
    x = ctx.x(node.input(0))
    expr = ctx.call("GroupNorm", x, ctx.x(node.input(1)), ctx.x(node.input(2)), num_groups=int(num_groups),
                    eps=float(epsilon))  # fmt: skip
    ctx.assign(node, expr)


@EMIT.register("LRN")
def lrn(node, ctx, alpha=1e-4, beta=0.75, bias=1.0, size=None):
    if int(size) % 2 == 0:
        raise ctx.fail("an even-size LRN reached the MXNet emitter; the broker legalizes it (LRN.even_size)",
                       reference="internal-bug")  # fmt: skip
    ctx.assign(node, ctx.call("LRN", ctx.x(node.input(0)), alpha=float(alpha), beta=float(beta), knorm=float(bias),
                              nsize=int(size)))  # fmt: skip


@EMIT.register("LpNormalization")
def lp_norm(node, ctx, axis=-1, p=2):
    if p not in (1, 2):
        raise ctx.fail("LpNormalization with p=%d (ONNX has 1 and 2)" % p)
    """x / ||x||, and 0 where the norm is 0 (ONNX's reference)."""
    x = ctx.x(node.input(0))
    norm = ctx.temp(ctx.call("norm", x, ord=int(p), axis=int(axis), keepdims=True), "norm")
    zero = ctx.temp(ctx.call("broadcast_like", "(%s == 0)" % norm, x), "zero")
    ctx.assign(node, ctx.call("where", zero, ctx.call("zeros_like", x), ctx.call("broadcast_div", x, norm)))


@EMIT.register("MeanVarianceNormalization")
def mean_variance_norm(node, ctx, axes=(0, 2, 3)):
    """ONNX's function: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)."""
    x = ctx.x(node.input(0))
    axes = tuple(int(a) for a in axes)
    m = ctx.temp(ctx.call("mean", x, axis=axes, keepdims=True), "mean")
    sq = ctx.temp(ctx.call("mean", ctx.call("square", x), axis=axes, keepdims=True), "sqmean")
    std = ctx.temp(ctx.call("sqrt", ctx.call("broadcast_sub", sq, ctx.call("square", m))), "std")
    ctx.assign(node, ctx.call("broadcast_div", ctx.call("broadcast_sub", x, m), "(%s + 1e-9)" % std))

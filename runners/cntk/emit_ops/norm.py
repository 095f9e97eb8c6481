"""BatchNormalization (inference), LRN, InstanceNormalization, LayerNormalization, LpNormalization."""

import numpy as np

from runners.common.codegen import lit

from ..emit import EMIT
from .elementwise import operand


@EMIT.register("BatchNormalization")
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode BatchNormalization cannot be emitted for inference")
    x = node.input(0)
    if ctx.rank(x) is not None and ctx.rank(x) < 3:
        spatial = False  # (N, C): CNTK's per-element mode is per channel here
    else:
        spatial = True
    args = [ctx.x(x)]
    for i, kind in ((1, "parameter"), (2, "parameter"), (3, "constant"), (4, "constant")):
        value = ctx.need_const(node, i, "the BatchNormalization statistics")
        args.append(ctx.weight(node.input(i), np.asarray(value, dtype=np.float32), kind))
    count = "C.constant(1.0)"  # CNTK reads the running count in training only
    expr = ctx.call("batch_normalization", *args, spatial=spatial, running_count=None, epsilon=float(epsilon))
    expr = expr[:-1] + ", running_count=%s)" % count
    ctx.assign(node, expr)


@EMIT.register("LRN")
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    """CNTK 2.7's local_response_normalization divides alpha by the window size itself (measured),
    as ONNX does; its window is centred: odd sizes only."""
    if size % 2 == 0:
        raise ctx.fail("LRN size %d; CNTK's window is centred (odd sizes)" % size)
    x = node.inputs[0]
    if ctx.axis(x, 1) != 0:
        raise ctx.fail("LRN of a tensor whose channel axis is not CNTK's first")
    ctx.assign(node, ctx.call("local_response_normalization", ctx.x(x), (size - 1) // 2, float(bias), float(alpha),
                              float(beta)))  # fmt: skip


def _standardize(ctx, x, axes, epsilon, node=None):
    """(x - mean) / sqrt(var + epsilon) over CNTK static `axes`; returns the expression. With
    `node`, its second and third outputs (if any) get the mean and 1 / sqrt(var + epsilon)."""
    mean = ctx.temp(ctx.call("reduce_mean", ctx.x(x), axis=axes), "mean")
    centered = ctx.temp(ctx.call("minus", ctx.x(x), mean), "centered")
    var = ctx.call("reduce_mean", ctx.call("square", centered), axis=axes)
    std = ctx.temp(ctx.call("sqrt", ctx.call("plus", var, epsilon)), "std")
    extra = (node.outputs[1:] if node else []) + ["", ""]
    if extra[0]:
        ctx.assign(node, ctx.call("alias", mean), output=extra[0])
    if extra[1]:
        ctx.assign(node, ctx.call("reciprocal", std), output=extra[1])
    return ctx.call("element_divide", centered, std)


@EMIT.register("InstanceNormalization")
def instance_normalization(node, ctx, epsilon=1e-5):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    scale, bias = ctx.need_const(node, 1, "the scale"), ctx.need_const(node, 2, "the bias")
    normed = _standardize(ctx, x, tuple(ctx.axis(x, a) for a in range(2, rank)), float(epsilon))
    spatial = (1,) * (rank - 2)
    expr = ctx.call("element_times", ctx.temp(normed, "normalized"),
                    ctx.weight(node.inputs[1], scale.reshape((-1,) + spatial), "parameter"))  # fmt: skip
    expr = ctx.call("plus", expr, ctx.weight(node.inputs[2], bias.reshape((-1,) + spatial), "parameter"))
    ctx.assign(node, expr)


@EMIT.register("LayerNormalization")
def layer_normalization(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    axis = axis + rank if axis < 0 else axis
    normed = _standardize(ctx, x, tuple(ctx.axis(x, a) for a in range(axis, rank)), float(epsilon), node)
    expr = ctx.temp(normed, "normalized")
    for i, op in ((1, "element_times"), (2, "plus")):
        if node.input(i):
            expr = ctx.call(op, expr, _affine_operand(ctx, node, i, x, axis))
    ctx.assign(node, expr)


def _affine_operand(ctx, node, i, x, axis):
    """LayerNormalization's scale or bias (input `i`): a constant laid out over the axes from `axis`,
    or a computed value broadcast as ONNX does."""
    value = ctx.const(node.inputs[i])
    if value is None:
        return operand(ctx, node.inputs[i], x)
    shape = tuple(ctx.need_shape(x)[axis:])
    return ctx.weight(node.inputs[i], np.broadcast_to(np.asarray(value, np.float32), shape), "parameter")


@EMIT.register("LpNormalization")
def lp_normalization(node, ctx, axis=-1, p=2):
    if p not in (1, 2):
        raise ctx.fail("LpNormalization with p=%d" % p)
    x = node.inputs[0]
    c_axis = ctx.axis(x, axis)
    norm = ctx.temp(ctx.call("reduce_l2" if p == 2 else "reduce_l1", ctx.x(x), axis=c_axis), "norm")
    safe = ctx.call("plus", norm, ctx.call("equal", norm, lit(0.0)))  # a zero vector stays zero (ONNX)
    ctx.assign(node, ctx.call("element_divide", ctx.x(x), safe))

"""ReduceSum, ReduceMean, ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2, ReduceMax, ReduceMin,
GlobalLpPool and LpNormalization, with CoreML's reduce layer.

The reduce layer reduces the blob's C, H, W, H and W, or C, H and W axes and keeps them as 1s: an
[N, C, H, W] value over axes {1}, {2}, {3}, {2, 3} or {1, 2, 3}, an [N, F] value over {1}. Without
keepdims the result must still be a value the classic layout holds the same way ([N, C, 1, 1] and
[N, C] are one blob). ReduceMean and ReduceMax over H and W (what exporters write for a global
pool) are global pooling layers.
"""

import numpy as np

from ..context import EMIT
from .pool import global_pool
from .shape import reshape_blob

GLOBAL_POOLS = {"AVG": "AVERAGE", "MAX": "MAX"}
ONE_IS_IDENTITY = ("SUM", "AVG", "PROD", "MAX", "MIN")
AXES = {(1,): "C", (2,): "H", (3,): "W", (2, 3): "HW", (1, 2, 3): "CHW"}


def _axes(node, ctx, axes=None, noop_with_empty_axes=0):
    """The reduced axes (sorted), or None for a reduction that does nothing."""
    rank = ctx.need_rank(node.inputs[0])
    if node.input(1):
        axes = ctx.need_const(node, 1, "the reduction axes")
    if axes is None or np.asarray(axes).size == 0:
        if noop_with_empty_axes:
            return None
        axes = range(rank)
    return tuple(sorted(int(a) % rank for a in np.asarray(list(axes)).reshape(-1)))


def _layer_axis(node, ctx, axes):
    """The reduce layer's axis (C, H, W, HW, CHW) for `axes`, where the output is its blob."""
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    if 0 in axes:
        raise ctx.fail("a reduction over the batch axis has no CoreML NeuralNetwork layer")
    key = axes if rank == 4 else {(1,): (1,)}.get(axes)
    if key not in AXES:
        raise ctx.fail(
            "a reduction over axes %s of a rank-%d value has no CoreML reduce layer form" % (list(axes), rank)
        )
    out_chw = ctx.chw(node.outputs[0]) if ctx.need_rank(node.outputs[0]) in (2, 4) else None
    kept = [1 if i + 1 in axes else d for i, d in enumerate(ctx.chw(x))]
    if out_chw != kept:
        raise ctx.fail(
            "the reduction's output %s is not the blob CoreML's reduce layer gives (keepdims=0 that drops an "
            "axis the classic layout needs)" % ctx.shape(node.outputs[0]),
        )
    return AXES[key]


def reduce_layer(node, ctx, mode, axis, x=None, out=None, suffix=""):
    x = ctx.feature(node.inputs[0]) if x is None else x
    out = ctx.out(node) if out is None else out
    ctx.builder.add_reduce(ctx.layer(node, suffix), x, out, axis, mode)
    return out


def _reduce(node, ctx, mode, keepdims, noop_with_empty_axes, axes=None):
    axes = _axes(node, ctx, axes, noop_with_empty_axes)
    x, y = node.inputs[0], node.outputs[0]
    if axes is not None and mode in ONE_IS_IDENTITY:
        shape = ctx.need_shape(x)
        axes = tuple(a for a in axes if shape[a] != 1)  # a sum, mean, product, max or min of one value is it
    if not axes:
        src, src_shape = ctx.source(x)
        blob = reshape_blob(node, ctx, src, src_shape, y, ctx.need_shape(y))
        if blob != y:
            ctx.aliases[y] = blob
        return
    axis = _layer_axis(node, ctx, axes)
    if axis == "HW" and mode in GLOBAL_POOLS:
        global_pool(node, ctx, GLOBAL_POOLS[mode])  # what exporters write for a global pool
    else:
        reduce_layer(node, ctx, mode, axis)


def _register(op, mode):
    @EMIT.register(op)
    def convert(node, ctx, keepdims=1, noop_with_empty_axes=0):
        _reduce(node, ctx, mode, keepdims, noop_with_empty_axes)

    convert.__name__ = "reduce_" + mode.lower()
    return convert


for _op, _mode in (
    ("ReduceSum", "SUM"),
    ("ReduceMean", "AVG"),
    ("ReduceProd", "PROD"),
    ("ReduceSumSquare", "SUMSQUARE"),
    ("ReduceL1", "L1"),
    ("ReduceL2", "L2"),
    ("ReduceMax", "MAX"),
    ("ReduceMin", "MIN"),
):
    _register(_op, _mode)


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    if p not in (1, 2):
        raise ctx.fail("GlobalLpPool with p=%d has no CoreML reduce layer (p 1 or 2)" % p)
    if ctx.need_rank(node.inputs[0]) != 4:
        raise ctx.fail("GlobalLpPool of a rank-%d value is not converted" % ctx.rank(node.inputs[0]))
    reduce_layer(node, ctx, "L%d" % p, "HW")


@EMIT.register("LpNormalization")
def lp_normalization(node, ctx, axis=-1, p=2):
    """x / ||x||_p over the channels: the reduce layer's L1/L2 norm, at least FLT_MIN (unary
    THRESHOLD, so a zero vector stays zero as in ONNX's reference: 0 times 1/FLT_MIN), its
    reciprocal (unary POWER -1) and a multiply that broadcasts it over C. Only a vector whose norm
    is itself a denormal number (every element below 1.2e-38) divides by FLT_MIN instead."""
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    if axis % rank != 1 or p not in (1, 2):
        raise ctx.fail(
            "LpNormalization with p=%d over axis %d of a rank-%d value is not converted (p 1 or 2 over "
            "the channels)" % (p, axis, rank)
        )
    blob = ctx.feature(x)
    norm = reduce_layer(node, ctx, "L%d" % p, "C", out=ctx.temp(node, "norm"), suffix="norm")
    floored = ctx.temp(node, "floored")
    ctx.builder.add_unary(ctx.layer(node, "floor"), norm, floored, "threshold", alpha=float(np.finfo(np.float32).tiny))
    inverse = ctx.temp(node, "inverse")
    ctx.builder.add_unary(ctx.layer(node, "inverse"), floored, inverse, "power", alpha=-1.0)
    ctx.builder.add_elementwise(ctx.layer(node), [blob, inverse], ctx.out(node), "MULTIPLY")

"""Reductions -> Reduction (sums and means over the trailing axes; other axes moved there by a
Permute first), global max pooling for the maximum (the minimum as -max(-x)), then a Reshape to the
IR's shape (keepdims or not)."""

import numpy as np

from ..emit import EMIT
from ._common import broadcast, eltwise, negate, permute, power, reshape


def _axes(node, ctx, noop_with_empty_axes):
    """(input shape, reduced axes sorted); the axes are None when the node reduces nothing, and its
    output is then the input."""
    shape = ctx.need_shape(node.inputs[0])
    axes = ctx.need_const(node, 1, "the axes") if node.input(1) else None
    if axes is None or np.asarray(axes).size == 0:
        if noop_with_empty_axes:
            ctx.alias[node.outputs[0]] = ctx.blob(node.inputs[0])
            return shape, None
        return shape, list(range(len(shape)))
    return shape, sorted(set(int(a) % len(shape) for a in np.asarray(axes).reshape(-1)))


def _trailing(ctx, x, shape, axes):
    """`x` with the reduced axes moved to the end: (blob, number of kept axes, kept size, reduced size)."""
    kept = [a for a in range(len(shape)) if a not in axes]
    order = kept + list(axes)
    if order != list(range(len(shape))):
        x = permute(ctx, x, order, ctx.temp("reduced_last"))
    return x, len(kept), int(np.prod([shape[a] for a in kept])), int(np.prod([shape[a] for a in axes]))


def _reduction(ctx, x, shape, axes, operation, suffix="reduced"):
    """Reduction `operation` of `x` over `axes`: a blob of the kept dims."""
    x, n_kept, _, _ = _trailing(ctx, x, shape, axes)
    layer = ctx.layer("Reduction", [x], [ctx.temp(suffix)])
    layer.reduction_param.operation = getattr(layer.reduction_param, operation)
    layer.reduction_param.axis = n_kept
    return layer.top[0]


def _maximum(ctx, x, shape, axes, suffix="maximum"):
    """The maximum of `x` over `axes`: global max pooling of a [1, kept, reduced, 1] view."""
    x, _, outer, inner = _trailing(ctx, x, shape, axes)
    view = reshape(ctx, x, [1, outer, inner, 1], ctx.temp("rows"))
    layer = ctx.layer("Pooling", [view], [ctx.temp(suffix)])
    layer.pooling_param.pool = layer.pooling_param.MAX
    layer.pooling_param.global_pooling = True
    return layer.top[0]


def _finish(node, ctx, blob):
    reshape(ctx, blob, ctx.need_shape(node.outputs[0]), node.outputs[0])


def _reducer(operation, root=None):
    def convert(node, ctx, keepdims=1, noop_with_empty_axes=0):
        shape, axes = _axes(node, ctx, noop_with_empty_axes)
        if axes is None:
            return
        blob = _reduction(ctx, ctx.blob(node.inputs[0]), shape, axes, operation)
        if root:
            blob = power(ctx, blob, ctx.temp("root"), power=root)
        _finish(node, ctx, blob)

    return convert


for _op, _operation, _root in (("ReduceSum", "SUM", None), ("ReduceMean", "MEAN", None), ("ReduceL1", "ASUM", None),
                               ("ReduceSumSquare", "SUMSQ", None), ("ReduceL2", "SUMSQ", 0.5)):  # fmt: skip
    EMIT.register(_op)(_reducer(_operation, _root))


@EMIT.register("ReduceMax")
def reduce_max(node, ctx, keepdims=1, noop_with_empty_axes=0):
    shape, axes = _axes(node, ctx, noop_with_empty_axes)
    if axes is not None:
        _finish(node, ctx, _maximum(ctx, ctx.blob(node.inputs[0]), shape, axes))


@EMIT.register("ReduceMin")
def reduce_min(node, ctx, keepdims=1, noop_with_empty_axes=0):
    """-max(-x)"""
    shape, axes = _axes(node, ctx, noop_with_empty_axes)
    if axes is not None:
        largest = _maximum(ctx, negate(ctx, ctx.blob(node.inputs[0])), shape, axes)
        _finish(node, ctx, negate(ctx, largest, "minimum"))


@EMIT.register("ReduceLogSumExp")
def reduce_log_sum_exp(node, ctx, keepdims=1, noop_with_empty_axes=0):
    """m + log(sum(exp(x - m))), m the maximum: no overflow where the sum of exponentials would."""
    shape, axes = _axes(node, ctx, noop_with_empty_axes)
    if axes is None:
        return
    x = ctx.blob(node.inputs[0])
    kept = [1 if a in axes else d for a, d in enumerate(shape)]
    largest = reshape(ctx, _maximum(ctx, x, shape, axes), kept, ctx.temp("maximum_kept"))
    shifted = eltwise(ctx, "SUM", [x, broadcast(ctx, largest, kept, shape)], ctx.temp("shifted"), [1.0, -1.0])
    exps = ctx.layer("Exp", [shifted], [ctx.temp("exp")]).top[0]
    sums = reshape(ctx, _reduction(ctx, exps, shape, axes, "SUM"), kept, ctx.temp("sum_kept"))
    logs = ctx.layer("Log", [sums], [ctx.temp("log")]).top[0]
    _finish(node, ctx, eltwise(ctx, "SUM", [logs, largest], ctx.temp("log_sum_exp")))

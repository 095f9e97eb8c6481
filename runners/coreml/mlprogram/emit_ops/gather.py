"""Indexing as MIL ops: Gather (embedding lookups), GatherElements (gather_along_axis), GatherND
(gather_nd).

ONNX indices may be negative (counted from the end of the axis). Constant indices are made
non-negative here; computed ones get a select(i < 0, i + size, i) in the program, as MIL's
gather_along_axis and gather_nd do not say how they treat negative values (MIL's gather does:
it takes them as ONNX does)."""

import numpy as np

from ..common import TO_MIL
from ._common import named


def _indices(node, ctx, sizes, wrap=True):
    """The node's indices (input 1) as int32: a constant made non-negative, a computed value with
    negatives wrapped by `sizes` (the size of the indexed axis, broadcast) when `wrap`."""
    from coremltools.converters.mil import Builder as mb

    const = ctx.const(node.inputs[1])
    if const is not None:
        return np.where(const < 0, const + sizes, const).astype(np.int32)
    var = ctx.var(node.inputs[1])
    if not wrap:
        return var
    negative = mb.less(x=var, y=np.int32(0), name=named(ctx, node, False))
    wrapped = mb.add(x=var, y=np.asarray(sizes, np.int32), name=named(ctx, node, False))
    return mb.select(cond=negative, a=wrapped, b=var, name=named(ctx, node, False))


@TO_MIL.register("Gather")
def gather(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.inputs[0])
    a = int(axis) % len(shape)
    indices = _indices(node, ctx, shape[a], wrap=False)  # MIL's gather takes negative indices as ONNX does
    ctx.set(node, mb.gather(x=ctx.var(node.inputs[0]), indices=indices, axis=a, name=ctx.out(node)))


@TO_MIL.register("GatherElements")
def gather_elements(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.inputs[0])
    a = int(axis) % len(shape)
    indices = _indices(node, ctx, shape[a])
    ctx.set(node, mb.gather_along_axis(x=ctx.var(node.inputs[0]), indices=indices, axis=a, name=ctx.out(node)))


@TO_MIL.register("GatherND")
def gather_nd(node, ctx, batch_dims=0):
    from coremltools.converters.mil import Builder as mb

    if batch_dims:
        raise ctx.fail("GatherND with batch_dims=%d is not converted (MIL's iOS 15 gather_nd has none)" % batch_dims)
    shape = ctx.need_shape(node.inputs[0])
    depth = ctx.need_shape(node.inputs[1])[-1]
    indices = _indices(node, ctx, np.array(shape[:depth], np.int64))
    ctx.set(node, mb.gather_nd(x=ctx.var(node.inputs[0]), indices=indices, name=ctx.out(node)))

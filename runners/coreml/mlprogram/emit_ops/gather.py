"""Indexing as MIL ops: Gather (embedding lookups), GatherElements (gather_along_axis), GatherND
(gather_nd).

ONNX indices may be negative (counted from the end of the axis). Constant indices are made
non-negative here; computed ones get a select(i < 0, i + size, i) in the program, as MIL's
gather_along_axis and gather_nd do not say how they treat negative values (MIL's gather does:
it takes them as ONNX does)."""

import numpy as np

from ..common import TO_MIL
from ._common import named


def _sizes(node, ctx, axes):
    """The sizes of the indexed axes of the data (input 0): constants where known, else read from
    the data's shape in the program (a free batch or sequence length)."""
    from coremltools.converters.mil import Builder as mb

    shape = ctx.shape(node.inputs[0]) or []
    sizes = [shape[a] if a < len(shape) else None for a in axes]
    if all(d is not None and d > 0 for d in sizes):
        return np.array(sizes, np.int64)
    dims = mb.shape(x=ctx.var(node.inputs[0]), name=named(ctx, node, False))
    return mb.gather(x=dims, indices=np.array(list(axes), np.int32), axis=0, name=named(ctx, node, False))


def _indices(node, ctx, sizes, wrap=True):
    """The node's indices (input 1) as int32: a constant made non-negative, a computed value with
    negatives wrapped by `sizes` (the size of the indexed axis, broadcast) when `wrap`."""
    from coremltools.converters.mil import Builder as mb

    const = ctx.const(node.inputs[1])
    if const is not None and not np.any(const < 0):
        return const.astype(np.int32)
    if const is not None and isinstance(sizes, np.ndarray):
        return np.where(const < 0, const + sizes, const).astype(np.int32)
    var = ctx.var(node.inputs[1])
    if not wrap:
        return var
    negative = mb.less(x=var, y=np.int32(0), name=named(ctx, node, False))
    if isinstance(sizes, np.ndarray):
        sizes = sizes.astype(np.int32)
    wrapped = mb.add(x=var, y=sizes, name=named(ctx, node, False))
    return mb.select(cond=negative, a=wrapped, b=var, name=named(ctx, node, False))


@TO_MIL.register("Gather")
def gather(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    a = int(axis) % ctx.need_rank(node.inputs[0])
    const = ctx.const(node.inputs[1])
    wrap = const is not None and bool(np.any(const < 0)) and ctx.static_shape(node.inputs[0]) is not None
    sizes = _sizes(node, ctx, [a]) if wrap else None
    indices = _indices(node, ctx, sizes, wrap=False)  # MIL's gather takes negative indices as ONNX does
    ctx.set(node, mb.gather(x=ctx.var(node.inputs[0]), indices=indices, axis=a, name=ctx.out(node)))


@TO_MIL.register("GatherElements")
def gather_elements(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    a = int(axis) % ctx.need_rank(node.inputs[0])
    indices = _indices(node, ctx, _sizes(node, ctx, [a]))
    data = _cropped_to_indices(node, ctx, a)
    ctx.set(node, mb.gather_along_axis(x=data, indices=indices, axis=a, name=ctx.out(node)))


def _cropped_to_indices(node, ctx, axis):
    """The data, its other axes than `axis` cut to the indices' sizes: ONNX (as torch.gather) lets
    the indices be smaller there, MIL's gather_along_axis wants them equal."""
    from coremltools.converters.mil import Builder as mb

    data, given = ctx.shape(node.inputs[0]) or [], ctx.shape(node.inputs[1]) or []
    ends = [i if a != axis and d is not None and i is not None and 0 < i < d else 0
            for a, (d, i) in enumerate(zip(data, given))]  # fmt: skip
    if not any(ends):
        return ctx.var(node.inputs[0])
    return mb.slice_by_index(x=ctx.var(node.inputs[0]), begin=np.zeros(len(ends), np.int32),
                             end=np.array(ends, np.int32), end_mask=[e == 0 for e in ends],
                             name=named(ctx, node, False))  # fmt: skip


@TO_MIL.register("GatherND")
def gather_nd(node, ctx, batch_dims=0):
    from coremltools.converters.mil import Builder as mb

    if batch_dims:
        raise ctx.fail("GatherND with batch_dims=%d is not converted (MIL's iOS 15 gather_nd has none)" % batch_dims)
    depth = (ctx.shape(node.inputs[1]) or [None])[-1]
    if depth is None:
        raise ctx.fail("GatherND with indices of unknown depth", reference="missing-input-shape")
    indices = _indices(node, ctx, _sizes(node, ctx, range(depth)))
    ctx.set(node, mb.gather_nd(x=ctx.var(node.inputs[0]), indices=indices, name=ctx.out(node)))

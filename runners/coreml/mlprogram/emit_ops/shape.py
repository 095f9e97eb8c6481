"""Shape computations as MIL ops, what a graph with free sizes (a free batch, a free sequence
length) computes at run time: Shape (MIL shape, int32 as every IR int64 in the program), Range
(range_1d), ConstantOfShape (fill). A graph whose sizes are all known has none of these left: the
broker folds them."""

import numpy as np

from ..common import TO_MIL
from ._common import named


@TO_MIL.register("Shape")
def shape(node, ctx, end=None, start=0):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    begin, stop, _ = slice(int(start), None if end is None else int(end)).indices(rank)
    whole = begin == 0 and stop == rank
    dims = mb.shape(x=ctx.var(node.inputs[0]), name=named(ctx, node, whole))
    if not whole:
        dims = mb.slice_by_index(x=dims, begin=[begin], end=[max(stop, begin)], name=ctx.out(node))
    ctx.set(node, dims)


@TO_MIL.register("Range")
def range_(node, ctx):
    from coremltools.converters.mil import Builder as mb

    dtype = np.dtype(ctx.dtype(node.outputs[0]) or np.float32)
    if dtype.name not in ("float32", "int32", "int64"):
        raise ctx.fail("Range of %s values is not converted (float32, int32, int64 as int32)" % dtype.name)
    start, limit, delta = (ctx.x(n) for n in node.inputs[:3])
    ctx.set(node, mb.range_1d(start=start, end=limit, step=delta, name=ctx.out(node)))


@TO_MIL.register("ConstantOfShape")
def constant_of_shape(node, ctx, value=None):
    from coremltools.converters.mil import Builder as mb
    from onnx import numpy_helper

    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value)
    fill = np.asarray(fill).reshape(-1)[0]
    if fill.dtype.name not in ("float32", "int32", "int64", "bool"):
        raise ctx.fail("ConstantOfShape of %s values is not converted" % fill.dtype.name)
    fill = fill.astype(np.int32) if fill.dtype == np.int64 else fill
    ctx.set(node, mb.fill(shape=ctx.var(node.inputs[0]), value=fill, name=ctx.out(node)))

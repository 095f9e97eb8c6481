"""Ops along a sequence axis: CumSum, ReverseSequence."""

import numpy as np

from .. import functions
from ..codegen import EMIT, torch_dtype


@EMIT.register("CumSum")
def cum_sum(node, ctx, exclusive=0, reverse=0):
    x, axis = node.inputs
    dim = ctx.int_scalar(axis)
    src = ctx.x(x)
    if reverse:
        src = "torch.flip(%s, [%s])" % (src, dim)
    dt = ctx.dtype(x)
    keep = ", dtype=%s" % torch_dtype(dt) if dt is not None and np.issubdtype(dt, np.integer) else ""  # not int64
    expr = "torch.cumsum(%s, %s%s)" % (src, dim, keep)
    if exclusive:  # the sum of the steps before this one
        expr = "%s - %s" % (expr, src)
    if reverse:
        expr = "torch.flip(%s, [%s])" % (expr, dim)
    ctx.assign(node, expr)


@EMIT.register("ReverseSequence")
def reverse_sequence(node, ctx, batch_axis=1, time_axis=0):
    x, lengths = node.inputs
    fn = ctx.function(functions.reverse_sequence)
    ctx.assign(node, "%s(%s, %s, batch_axis=%d, time_axis=%d)" % (fn, ctx.x(x), ctx.x(lengths), batch_axis, time_axis))

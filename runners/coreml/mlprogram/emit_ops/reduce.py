"""Reductions as MIL ops: ReduceMean, ReduceMax, ReduceMin, ReduceSum, ReduceProd, ReduceL1,
ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare, ArgMax, ArgMin, and the running sum CumSum."""

import numpy as np

from ..common import TO_MIL

REDUCE = {
    "ReduceMean": "reduce_mean",
    "ReduceMax": "reduce_max",
    "ReduceMin": "reduce_min",
    "ReduceSum": "reduce_sum",
    "ReduceProd": "reduce_prod",
    "ReduceL1": "reduce_l1_norm",
    "ReduceL2": "reduce_l2_norm",
    "ReduceLogSumExp": "reduce_log_sum_exp",
    "ReduceSumSquare": "reduce_sum_square",
    "ReduceLogSum": "reduce_log_sum",
}


@TO_MIL.register(*REDUCE)
def reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    axes = ctx.need_const(node, 1, "the reduction axes").reshape(-1) if node.input(1) else np.zeros(0, np.int64)
    if axes.size == 0:
        if noop_with_empty_axes:
            ctx.alias(node, node.inputs[0])
            return
        axes = np.arange(rank)
    axes = np.array(sorted(int(a) % rank for a in axes), np.int32)
    ctx.set(
        node,
        getattr(mb, REDUCE[node.op_type])(
            x=ctx.var(node.inputs[0]), axes=axes, keep_dims=bool(keepdims), name=ctx.out(node)
        ),
    )


@TO_MIL.register("ArgMax", "ArgMin")
def arg_reduce(node, ctx, axis=0, keepdims=1, select_last_index=0):
    from coremltools.converters.mil import Builder as mb

    if select_last_index:
        raise ctx.fail("%s with select_last_index has no MIL equivalent" % node.op_type)
    fn = mb.reduce_argmax if node.op_type == "ArgMax" else mb.reduce_argmin
    rank = ctx.need_rank(node.inputs[0])
    ctx.set(node, fn(x=ctx.var(node.inputs[0]), axis=int(axis) % rank, keep_dims=bool(keepdims), name=ctx.out(node)))


@TO_MIL.register("CumSum")
def cumsum(node, ctx, exclusive=0, reverse=0):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    axis = int(np.asarray(ctx.need_const(node, 1, "the axis")).reshape(-1)[0]) % rank
    ctx.set(
        node,
        mb.cumsum(
            x=ctx.var(node.inputs[0]), axis=axis, exclusive=bool(exclusive), reverse=bool(reverse), name=ctx.out(node)
        ),
    )

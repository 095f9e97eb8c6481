"""ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
ReduceLogSumExp, ReduceSumSquare; ArgMax, ArgMin; CumSum; TopK."""

from ..codegen import EMIT, held_shape

_DIRECT = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod"}
_REDUCE_OPS = sorted(_DIRECT) + ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def _reduce_axes(node, ctx):
    """The reduced axes (sorted, non-negative), or None for all; () when nothing is reduced."""
    if node.input(1):
        axes = ctx.need_const(node, 1, "the axes").reshape(-1).tolist()
    else:
        axes = []
    if not axes:
        return None
    rank = ctx.need_rank(node.input(0))
    return tuple(sorted(int(a) % rank for a in axes))


@EMIT.register(*_REDUCE_OPS)
def reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = ctx.x(node.input(0))
    axes = _reduce_axes(node, ctx)
    if axes is None and noop_with_empty_axes:
        ctx.assign(node, ctx.call("identity", x))
        return
    keep = bool(keepdims)
    op = node.op_type
    if op in _DIRECT:
        expr = ctx.call(_DIRECT[op], x, axis=axes, keepdims=keep)
    elif op == "ReduceL1":
        expr = ctx.call("sum", ctx.call("abs", x), axis=axes, keepdims=keep)
    elif op == "ReduceSumSquare":
        expr = ctx.call("sum", ctx.call("square", x), axis=axes, keepdims=keep)
    elif op == "ReduceL2":
        expr = ctx.call("sqrt", ctx.call("sum", ctx.call("square", x), axis=axes, keepdims=keep))
    elif op == "ReduceLogSum":
        expr = ctx.call("log", ctx.call("sum", x, axis=axes, keepdims=keep))
    else:  # ReduceLogSumExp, shifted by the maximum so exp does not overflow
        top = ctx.temp(ctx.call("max", x, axis=axes, keepdims=True), "top")
        total = ctx.temp(ctx.call("sum", ctx.call("exp", ctx.call("broadcast_sub", x, top)), axis=axes, keepdims=keep),
                         "total")  # fmt: skip
        shift = top if keep else ctx.call("reshape", top, shape=held_shape(ctx.need_shape(node.outputs[0])))
        expr = ctx.call("broadcast_add", ctx.call("log", total), shift)
    ctx.assign(node, expr)


def _arg(node, ctx, op, axis, keepdims, select_last_index):
    """MXNet's argmax/argmin give the first index as a float: cast to int64; the last index is
    counted from the end of the reversed axis."""
    x = node.input(0)
    rank = ctx.need_rank(x)
    axis = int(axis) % max(rank, 1)
    src = ctx.x(x)
    if not ctx.is_float(x):
        src = ctx.temp(ctx.call("cast", src, dtype="float64"), "float")
    if not select_last_index:
        ctx.assign(node, ctx.call("cast", ctx.call(op, src, axis=axis, keepdims=bool(keepdims)), dtype="int64"))
        return
    n = ctx.need_shape(x)[axis]
    rev = ctx.temp(ctx.call(op, ctx.call("reverse", src, axis=axis), axis=axis, keepdims=bool(keepdims)), "rev")
    ctx.assign(node, ctx.call("cast", "(%d - 1 - %s)" % (n, rev), dtype="int64"))


@EMIT.register("ArgMax")
def argmax(node, ctx, axis=0, keepdims=1, select_last_index=0):
    _arg(node, ctx, "argmax", axis, keepdims, select_last_index)


@EMIT.register("ArgMin")
def argmin(node, ctx, axis=0, keepdims=1, select_last_index=0):
    _arg(node, ctx, "argmin", axis, keepdims, select_last_index)


@EMIT.register("CumSum")
def cumsum(node, ctx, exclusive=0, reverse=0):
    """MXNet's cumsum; reverse flips the axis around it; exclusive shifts by one (a zero first)."""
    x = node.input(0)
    shape = ctx.need_shape(x)
    axis = int(ctx.need_const(node, 1, "the axis").reshape(-1)[0]) % len(shape)
    src = ctx.x(x)
    if reverse:
        src = ctx.temp(ctx.call("reverse", src, axis=axis), "rev")
    total = ctx.temp(ctx.call("cumsum", src, axis=axis, dtype=ctx.held_dtype(x)), "cum")
    if exclusive:
        if shape[axis] == 1:
            total = ctx.temp(ctx.call("zeros_like", src), "cum")
        else:
            zero = ctx.call("zeros_like", ctx.call("slice_axis", src, axis=axis, begin=0, end=1))
            head = ctx.call("slice_axis", total, axis=axis, begin=0, end=shape[axis] - 1)
            total = ctx.temp(ctx.call("concat", zero, head, dim=axis), "excl")
    if reverse:
        total = ctx.temp(ctx.call("reverse", total, axis=axis), "back")
    ctx.assign(node, ctx.call("identity", total))


@EMIT.register("TopK")
def topk(node, ctx, axis=-1, largest=1, sorted=1):
    x = node.input(0)
    rank = ctx.need_rank(x)
    k = int(ctx.need_const(node, 1, "K").reshape(-1)[0])
    axis = int(axis) % rank
    src = ctx.x(x)
    values = ctx.temp(ctx.call("topk", src, axis=axis, k=k, ret_typ="value", is_ascend=not largest), "values")
    index = ctx.call("topk", src, axis=axis, k=k, ret_typ="indices", is_ascend=not largest, dtype="int64")
    if node.outputs[0]:
        ctx.assign(node, ctx.call("identity", values))
    if len(node.outputs) > 1 and node.outputs[1]:
        ctx.assign(node, index, output=node.outputs[1])

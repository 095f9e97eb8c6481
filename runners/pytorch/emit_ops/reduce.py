"""ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
ReduceLogSum, ReduceLogSumExp, ArgMax, ArgMin."""

from ..codegen import EMIT, lit

# op -> expression of (input, dims, keepdim)
_FNS = {
    "ReduceMean": "torch.mean(%s, dim=%s%s)",
    "ReduceSum": "torch.sum(%s, dim=%s%s)",
    "ReduceMax": "torch.amax(%s, dim=%s%s)",
    "ReduceMin": "torch.amin(%s, dim=%s%s)",
    "ReduceL1": "torch.linalg.vector_norm(%s, 1, dim=%s%s)",
    "ReduceL2": "torch.linalg.vector_norm(%s, 2, dim=%s%s)",
    "ReduceLogSumExp": "torch.logsumexp(%s, dim=%s%s)",
}


def _axes(node, ctx, noop_with_empty_axes):
    """The reduced axes (non-negative), or None when the node reduces nothing."""
    x = node.inputs[0]
    axes = None
    if node.input(1):
        axes = [int(a) for a in ctx.need_const(node, 1, "axes").reshape(-1)]
    if not axes:
        if noop_with_empty_axes:
            return None
        return list(range(ctx.need_rank(x)))
    rank = ctx.rank(x)
    return sorted(a % rank for a in axes) if rank is not None else axes


def _reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = node.inputs[0]
    axes = _axes(node, ctx, noop_with_empty_axes)
    if axes is None:
        ctx.assign(node, ctx.x(x))
        return
    dim = str(axes[0]) if len(axes) == 1 else lit(tuple(axes))
    keep = ", keepdim=True" if keepdims else ""
    op = node.op_type
    if op == "ReduceSumSquare":
        ctx.assign(node, "torch.sum(torch.square(%s), dim=%s%s)" % (ctx.x(x), dim, keep))
    elif op == "ReduceLogSum":
        ctx.assign(node, "torch.log(torch.sum(%s, dim=%s%s))" % (ctx.x(x), dim, keep))
    elif op == "ReduceProd":  # torch.prod takes one dim: the last axes first, so the others keep their index
        expr = ctx.x(x)
        for a in sorted(axes, reverse=True):
            expr = "torch.prod(%s, dim=%d%s)" % (expr, a, keep)
        ctx.assign(node, expr)
    else:
        ctx.assign(node, _FNS[op] % (ctx.x(x), dim, keep))


for _op in list(_FNS) + ["ReduceSumSquare", "ReduceLogSum", "ReduceProd"]:
    EMIT.register(_op)(_reduce)


def _arg(fn):
    def convert(node, ctx, axis=0, keepdims=1, select_last_index=0):
        if select_last_index:
            raise ctx.fail("select_last_index=1")
        ctx.assign(node, "%s(%s, dim=%d%s)" % (fn, ctx.x(node.inputs[0]), axis, ", keepdim=True" if keepdims else ""))

    return convert


EMIT.register("ArgMax")(_arg("torch.argmax"))
EMIT.register("ArgMin")(_arg("torch.argmin"))

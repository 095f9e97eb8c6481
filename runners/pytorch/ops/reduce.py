"""ReduceMean, ReduceSum, ReduceMax, ReduceMin, ArgMax, ArgMin."""

from ..codegen import EMIT, lit

_FNS = {"ReduceMean": "torch.mean", "ReduceSum": "torch.sum", "ReduceMax": "torch.amax", "ReduceMin": "torch.amin"}


def _reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = node.inputs[0]
    fn = _FNS[node.op_type]
    axes = None
    if node.input(1):
        axes = [int(a) for a in ctx.need_const(node, 1, "axes").reshape(-1)]
    if not axes:
        if noop_with_empty_axes:
            ctx.assign(node, ctx.x(x))
            return
        axes = list(range(ctx.need_rank(node, x)))
    dim = str(axes[0]) if len(axes) == 1 else lit(tuple(axes))
    ctx.assign(node, "%s(%s, dim=%s%s)" % (fn, ctx.x(x), dim, ", keepdim=True" if keepdims else ""))


for _op in _FNS:
    EMIT.register(_op, since=18)(_reduce)
EMIT.register("ReduceSum", since=13)(_reduce)


def _arg(fn):
    def convert(node, ctx, axis=0, keepdims=1, select_last_index=0):
        if select_last_index:
            raise ctx.fail("select_last_index=1")
        ctx.assign(node, "%s(%s, dim=%d%s)" % (fn, ctx.x(node.inputs[0]), axis, ", keepdim=True" if keepdims else ""))

    return convert


EMIT.register("ArgMax", since=13)(_arg("torch.argmax"))
EMIT.register("ArgMin", since=13)(_arg("torch.argmin"))

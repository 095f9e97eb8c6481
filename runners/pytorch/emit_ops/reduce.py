"""ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
ReduceLogSum, ReduceLogSumExp, ArgMax, ArgMin."""

from .. import functions
from ..codegen import EMIT, lit, torch_dtype

# op -> expression of (input, dims, keepdim)
_FNS = {
    "ReduceMean": "torch.mean(%s, dim=%s%s)",
    "ReduceSum": "torch.sum(%s, dim=%s%s)",
    "ReduceMax": "torch.amax(%s, dim=%s%s)",
    "ReduceMin": "torch.amin(%s, dim=%s%s)",
    "ReduceL1": "torch.linalg.vector_norm(%s, 1, dim=%s%s)",
    "ReduceL2": "torch.linalg.vector_norm(%s, 2, dim=%s%s)",
    "ReduceLogSumExp": "torch.logsumexp(%s, dim=%s%s)",
    "ReduceSumSquare": "torch.sum(torch.square(%s), dim=%s%s)",
    "ReduceLogSum": "torch.log(torch.sum(%s, dim=%s%s))",
}
# what ONNX gives for a reduction over no values where torch refuses to reduce (amax, amin)
_EMPTY = {"ReduceMax": float("-inf"), "ReduceMin": float("inf")}


def _axes(node, ctx, noop_with_empty_axes):
    """The reduced axes (non-negative), None when the node reduces nothing, or a Python
    expression for axes given at run time."""
    x = node.inputs[0]
    if node.input(1) and ctx.const(node.input(1)) is None:
        return "%s.tolist()" % ctx.x(node.input(1))  # an empty list reduces every axis, as ONNX does
    axes = ctx.ints(node.input(1)) if node.input(1) else None
    if not axes:
        if noop_with_empty_axes:
            return None
        return list(range(ctx.need_rank(x)))
    rank = ctx.rank(x)
    return sorted(a % rank for a in axes) if rank is not None else axes


def _over_nothing(node, ctx, keepdims):
    """`torch.full` of ONNX's value for a max/min over an empty set, when the output shape is known."""
    x = node.inputs[0]
    shape = ctx.shape(x)
    if node.op_type not in _EMPTY or not shape or 0 not in shape:
        return None
    out = ctx.static_shape(node.outputs[0])
    if out is None:
        raise ctx.fail("%s over an empty set needs a static output shape" % node.op_type, "missing-input-shape")
    return "torch.full(%s, %s, dtype=%s)" % (lit(tuple(out)), lit(_EMPTY[node.op_type]), torch_dtype(ctx.dtype(x)))


def _reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = node.inputs[0]
    axes = _axes(node, ctx, noop_with_empty_axes)
    if axes is None:
        ctx.assign(node, ctx.x(x))
        return
    empty = _over_nothing(node, ctx, keepdims)
    if empty is not None:
        ctx.assign(node, empty)
        return
    if isinstance(axes, str):
        dim = axes
    else:
        dim = str(axes[0]) if len(axes) == 1 else lit(tuple(axes))
    keep = ", keepdim=True" if keepdims else ""
    op = node.op_type
    if op == "ReduceProd":
        if isinstance(axes, str) or len(axes) > 1:  # torch.prod takes one dim
            fn = ctx.function(functions.reduce_prod)
            ctx.assign(node, "%s(%s, %s, keepdim=%s)" % (fn, ctx.x(x), dim, bool(keepdims)))
        else:
            ctx.assign(node, "torch.prod(%s, dim=%s%s)" % (ctx.x(x), dim, keep))
        return
    expr = _FNS[op] % (ctx.x(x), dim, keep)
    if isinstance(axes, str) and noop_with_empty_axes:
        expr = "%s if %s.numel() == 0 else %s" % (ctx.x(x), ctx.x(node.input(1)), expr)
    ctx.assign(node, expr)


for _op in list(_FNS) + ["ReduceProd"]:
    EMIT.register(_op)(_reduce)


def _arg(fn):
    def convert(node, ctx, axis=0, keepdims=1, select_last_index=0):
        x = node.inputs[0]
        keep = ", keepdim=True" if keepdims else ""
        if not select_last_index:  # torch returns the first of equal extremes, as ONNX does
            ctx.assign(node, "%s(%s, dim=%d%s)" % (fn, ctx.x(x), axis, keep))
            return
        # the last of equal extremes: the first one of the flipped tensor, counted from the end
        size = "%s.shape[%d]" % (ctx.x(x), axis)
        ctx.assign(node, "%s - 1 - %s(torch.flip(%s, [%d]), dim=%d%s)" % (size, fn, ctx.x(x), axis, axis, keep))

    return convert


EMIT.register("ArgMax")(_arg("torch.argmax"))
EMIT.register("ArgMin")(_arg("torch.argmin"))

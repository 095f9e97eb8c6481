"""Reductions (ReduceMean, ReduceMax, ReduceMin, ReduceSum, ReduceProd, ReduceL1, ReduceL2,
ReduceLogSumExp, ReduceSumSquare, ReduceLogSum), ArgMax and ArgMin, over the stored positions of
the reduced axes."""

from ..codegen import EMIT, channels_last, identity, lit

# op -> (element-wise step before, keras.ops reduction, step after); reduced over no axes
# (noop_with_empty_axes) only the element-wise steps remain, as in ONNX's reference
_REDUCTIONS = {
    "ReduceMean": ("{x}", "mean", "{r}"),
    "ReduceMax": ("{x}", "max", "{r}"),
    "ReduceMin": ("{x}", "min", "{r}"),
    "ReduceSum": ("{x}", "sum", "{r}"),
    "ReduceProd": ("{x}", "prod", "{r}"),
    "ReduceL1": ("keras.ops.abs({x})", "sum", "{r}"),
    "ReduceL2": ("keras.ops.square({x})", "sum", "keras.ops.sqrt({r})"),
    "ReduceSumSquare": ("keras.ops.square({x})", "sum", "{r}"),
    "ReduceLogSum": ("{x}", "sum", "keras.ops.log({r})"),
    "ReduceLogSumExp": ("{x}", "logsumexp", "{r}"),
}


def _expression(op, var, reduce_args):
    """The reduction of `var` (`reduce_args`: the keras.ops reduction's arguments, None for none)."""
    pre, fn, post = _REDUCTIONS[op]
    if reduce_args is None and op == "ReduceLogSumExp":
        pre, post = "keras.ops.exp({x})", "keras.ops.log({r})"
    inner = pre.format(x=var)
    return post.format(r=inner if reduce_args is None else "keras.ops.%s(%s, %s)" % (fn, inner, reduce_args))


def _kept_layout(layout, axes):
    """The stored layout of what is left after removing the IR axes `axes`."""
    kept = [a for a in range(len(layout)) if a not in axes]
    new_index = {a: i for i, a in enumerate(kept)}
    return tuple(new_index[a] for a in layout if a in new_index)


def _reduction(op):
    def convert(node, ctx, keepdims=1, noop_with_empty_axes=0):
        x = node.inputs[0]
        var, layout = ctx.any(x)
        rank = len(layout)
        axes = ctx.need_const(node, 1, "the reduction axes").reshape(-1) if node.input(1) else []
        if not len(axes) and noop_with_empty_axes:
            ctx.assign(node, _expression(op, var, None), layout)
            return
        axes = sorted(set(int(a) % rank for a in axes)) if len(axes) else list(range(rank))
        if op == "ReduceMean" and rank > 2 and axes == list(range(2, rank)):
            cl = channels_last(rank)
            ctor = "layers.GlobalAveragePooling%dD(%s)" % (rank - 2, "keepdims=True" if keepdims else "")
            ctx.layer(node, ctor, [ctx.x(x, cl)], cl if keepdims else identity(2))
            return
        stored = tuple(sorted(layout.index(a) for a in axes))
        expr = _expression(op, var, "axis=%s, keepdims=%s" % (lit(stored), lit(bool(keepdims))))
        ctx.assign(node, expr, layout if keepdims else _kept_layout(layout, axes))

    return convert


for _op in _REDUCTIONS:
    EMIT.register(_op)(_reduction(_op))


def _arg(fn):
    def convert(node, ctx, axis=0, keepdims=1, select_last_index=0):
        var, layout = ctx.any(node.inputs[0])
        rank = len(layout)
        axis = axis % rank
        p = layout.index(axis)
        r = "axis=%d, keepdims=%s" % (p, lit(bool(keepdims)))
        if select_last_index:  # the first index of the reversed axis, counted from the end
            last = ctx.need_shape(node.inputs[0])[axis] - 1
            expr = "%d - keras.ops.%s(keras.ops.flip(%s, axis=%d), %s)" % (last, fn, var, p, r)
        else:
            expr = "keras.ops.%s(%s, %s)" % (fn, var, r)
        ctx.assign(node, "keras.ops.cast(%s, 'int64')" % expr, layout if keepdims else _kept_layout(layout, [axis]))

    return convert


EMIT.register("ArgMax")(_arg("argmax"))
EMIT.register("ArgMin")(_arg("argmin"))

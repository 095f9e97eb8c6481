"""Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Greater, Less, Equal, Where, Cast."""

import numpy as np

from ..codegen import EMIT

_BINARY = {
    "Add": ("broadcast_add", "+"),
    "Sub": ("broadcast_sub", "-"),
    "Mul": ("broadcast_mul", "*"),
    "Div": ("broadcast_div", "/"),
    "Pow": ("broadcast_power", "**"),
}
_COMPARE = {"Greater": "broadcast_greater", "Less": "broadcast_lesser", "Equal": "broadcast_equal"}


@EMIT.register(*sorted(_BINARY), since=7)
def binary(node, ctx):
    op, sym = _BINARY[node.op_type]
    a, b = node.input(0), node.input(1)
    sa, sb = ctx.scalar(a), ctx.scalar(b)
    out_shape = ctx.shape(node.outputs[0])
    if sb is not None and sa is None and (out_shape is None or out_shape == ctx.shape(a)):
        ctx.assign(node, ctx.call("identity", "(%s %s %r)" % (ctx.x(a), sym, float(sb))))
        return
    if sa is not None and sb is None and (out_shape is None or out_shape == ctx.shape(b)):
        ctx.assign(node, ctx.call("identity", "(%r %s %s)" % (float(sa), sym, ctx.x(b))))
        return
    ctx.assign(node, ctx.call(op, ctx.x(a), ctx.x(b)))


@EMIT.register(*sorted(_COMPARE), since=7)
def compare(node, ctx):
    ctx.assign(node, ctx.call(_COMPARE[node.op_type], ctx.x(node.input(0)), ctx.x(node.input(1))))


def _fold_variadic(node, ctx, op):
    xs = [ctx.x(i) for i in node.inputs if i]
    acc = xs[0]
    for nxt in xs[1:-1]:
        acc = ctx.temp(ctx.call(op, acc, nxt), "acc")
    return ctx.call(op, acc, xs[-1]) if len(xs) > 1 else ctx.call("identity", acc)


@EMIT.register("Max", since=8)
def maximum(node, ctx):
    ctx.assign(node, _fold_variadic(node, ctx, "broadcast_maximum"))


@EMIT.register("Min", since=8)
def minimum(node, ctx):
    ctx.assign(node, _fold_variadic(node, ctx, "broadcast_minimum"))


@EMIT.register("Sum", since=8)
def sum_(node, ctx):
    ctx.assign(node, _fold_variadic(node, ctx, "broadcast_add"))


@EMIT.register("Mean", since=8)
def mean(node, ctx):
    count = len([i for i in node.inputs if i])
    total = ctx.temp(_fold_variadic(node, ctx, "broadcast_add"), "sum")
    ctx.assign(node, ctx.call("identity", "(%s / %r)" % (total, float(count))))


@EMIT.register("Where", since=9)
def where(node, ctx):
    shape = ctx.need_shape(node.outputs[0])
    xs = []
    for name in node.inputs:
        s = ctx.need_shape(name)
        src = ctx.x(name)
        if s != shape:
            src = ctx.temp(ctx.call("broadcast_to", src, shape=tuple(shape)), "b")
        xs.append(src)
    ctx.assign(node, ctx.call("where", *xs))


@EMIT.register("Cast", since=13)
def cast(node, ctx, to=1, saturate=1):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(to)).name
    ctx.assign(node, ctx.call("cast", ctx.x(node.input(0)), dtype=dtype))

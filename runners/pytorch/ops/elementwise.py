"""Element-wise arithmetic, comparisons and Cast: Add, Sub, Mul, Div, Pow, Sqrt, Exp, Log, Neg, Abs,
Reciprocal, Floor, Ceil, Sin, Cos, Max, Min, Sum, Mean, Equal, Less, Greater, LessOrEqual,
GreaterOrEqual, Not, And, Or, Where, Cast."""

import numpy as np

from ..codegen import EMIT, torch_dtype


def _binary(node, ctx, fmt):
    a, b = node.inputs[0], node.inputs[1]
    ctx.assign(node, fmt % (ctx.operand(a, b), ctx.operand(b, a)))


@EMIT.register("Add", since=14)
def add(node, ctx):
    _binary(node, ctx, "%s + %s")


@EMIT.register("Sub", since=14)
def sub(node, ctx):
    _binary(node, ctx, "%s - %s")


@EMIT.register("Mul", since=14)
def mul(node, ctx):
    _binary(node, ctx, "%s * %s")


@EMIT.register("Div", since=14)
def div(node, ctx):
    dt = ctx.dtype(node.inputs[0])
    if dt is not None and np.issubdtype(dt, np.integer):
        _binary(node, ctx, "torch.div(%s, %s, rounding_mode='trunc')")
    else:
        _binary(node, ctx, "%s / %s")


@EMIT.register("Pow", since=15)
def pow_(node, ctx):
    _binary(node, ctx, "torch.pow(%s, %s)")


_UNARY = {
    "Sqrt": ("torch.sqrt(%s)", 13),
    "Exp": ("torch.exp(%s)", 13),
    "Log": ("torch.log(%s)", 13),
    "Neg": ("-%s", 13),
    "Abs": ("torch.abs(%s)", 13),
    "Reciprocal": ("torch.reciprocal(%s)", 13),
    "Floor": ("torch.floor(%s)", 13),
    "Ceil": ("torch.ceil(%s)", 13),
    "Sin": ("torch.sin(%s)", 7),
    "Cos": ("torch.cos(%s)", 7),
    "Not": ("torch.logical_not(%s)", 1),
    "Sign": ("torch.sign(%s)", 13),
}


def _unary(fmt):
    def convert(node, ctx):
        ctx.assign(node, fmt % ctx.x(node.inputs[0]))

    return convert


for _op, (_fmt, _since) in _UNARY.items():
    EMIT.register(_op, since=_since)(_unary(_fmt))

_COMPARE = {
    "Equal": ("torch.eq(%s, %s)", 13),
    "Less": ("torch.lt(%s, %s)", 13),
    "Greater": ("torch.gt(%s, %s)", 13),
    "LessOrEqual": ("torch.le(%s, %s)", 16),
    "GreaterOrEqual": ("torch.ge(%s, %s)", 16),
    "And": ("torch.logical_and(%s, %s)", 7),
    "Or": ("torch.logical_or(%s, %s)", 7),
}


def _compare(fmt):
    def convert(node, ctx):
        a, b = node.inputs[0], node.inputs[1]
        ctx.assign(node, fmt % (ctx.x(a), ctx.operand(b, a)))

    return convert


for _op, (_fmt, _since) in _COMPARE.items():
    EMIT.register(_op, since=_since)(_compare(_fmt))


def _variadic(node, ctx, fn):
    vals = [ctx.x(i) for i in node.inputs if i]
    expr = vals[0]
    for v in vals[1:]:
        expr = "%s(%s, %s)" % (fn, expr, v)
    return expr


@EMIT.register("Max", since=13)
def max_(node, ctx):
    ctx.assign(node, _variadic(node, ctx, "torch.maximum"))


@EMIT.register("Min", since=13)
def min_(node, ctx):
    ctx.assign(node, _variadic(node, ctx, "torch.minimum"))


@EMIT.register("Sum", since=13)
def sum_(node, ctx):
    ctx.assign(node, " + ".join(ctx.x(i) for i in node.inputs if i))


@EMIT.register("Mean", since=13)
def mean_(node, ctx):
    vals = [ctx.x(i) for i in node.inputs if i]
    ctx.assign(node, "(%s) / %d" % (" + ".join(vals), len(vals)) if len(vals) > 1 else vals[0])


@EMIT.register("Where", since=16)
def where(node, ctx):
    c, a, b = node.inputs
    ctx.assign(node, "torch.where(%s, %s, %s)" % (ctx.x(c), ctx.x(a), ctx.x(b)))


@EMIT.register("Cast", since=13)
def cast(node, ctx, to=1, saturate=1):
    from onnx import helper

    try:
        dt = torch_dtype(helper.tensor_dtype_to_np_dtype(to))
    except (KeyError, TypeError, ValueError):
        raise ctx.fail("cast to ONNX type %d has no torch dtype" % to)
    ctx.assign(node, "%s.to(%s)" % (ctx.x(node.inputs[0]), dt))

"""Element-wise arithmetic, comparisons and Cast: Add, Sub, Mul, Div, Mod, Pow, Sqrt, Exp, Log, Neg,
Abs, Reciprocal, Floor, Ceil, Round, Sign, the trigonometric and hyperbolic functions, IsNaN, IsInf,
Max, Min, Sum, Mean, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Not, And, Or, Xor, the
bitwise ops, BitShift, Where, Cast."""

import numpy as np

from ..codegen import EMIT, torch_dtype


def _binary(node, ctx, fmt):
    a, b = node.inputs[0], node.inputs[1]
    ctx.assign(node, fmt % (ctx.operand(a, b), ctx.operand(b, a)))


@EMIT.register("Add")
def add(node, ctx):
    _binary(node, ctx, "%s + %s")


@EMIT.register("Sub")
def sub(node, ctx):
    _binary(node, ctx, "%s - %s")


@EMIT.register("Mul")
def mul(node, ctx):
    _binary(node, ctx, "%s * %s")


@EMIT.register("Div")
def div(node, ctx):
    dt = ctx.dtype(node.inputs[0])
    if dt is not None and np.issubdtype(dt, np.integer):
        _binary(node, ctx, "torch.div(%s, %s, rounding_mode='trunc')")
    else:
        _binary(node, ctx, "%s / %s")


@EMIT.register("Mod")
def mod(node, ctx, fmod=0):
    """fmod=1 keeps the dividend's sign (torch.fmod); fmod=0 the divisor's (torch.remainder)."""
    _binary(node, ctx, "torch.fmod(%s, %s)" if fmod else "torch.remainder(%s, %s)")


@EMIT.register("BitShift")
def bit_shift(node, ctx, direction=None):
    if direction not in ("LEFT", "RIGHT"):
        raise ctx.fail("BitShift direction %r" % direction)
    _binary(node, ctx, "%s << %s" if direction == "LEFT" else "%s >> %s")


@EMIT.register("IsInf")
def is_inf(node, ctx, detect_negative=1, detect_positive=1):
    x = ctx.x(node.inputs[0])
    if detect_negative and detect_positive:
        ctx.assign(node, "torch.isinf(%s)" % x)
    elif detect_positive:
        ctx.assign(node, "torch.isposinf(%s)" % x)
    elif detect_negative:
        ctx.assign(node, "torch.isneginf(%s)" % x)
    else:
        ctx.assign(node, "torch.zeros_like(%s, dtype=torch.bool)" % x)


@EMIT.register("Pow")
def pow_(node, ctx):
    _binary(node, ctx, "torch.pow(%s, %s)")


_UNARY = {
    "Sqrt": "torch.sqrt(%s)",
    "Exp": "torch.exp(%s)",
    "Log": "torch.log(%s)",
    "Neg": "-%s",
    "Abs": "torch.abs(%s)",
    "Reciprocal": "torch.reciprocal(%s)",
    "Floor": "torch.floor(%s)",
    "Ceil": "torch.ceil(%s)",
    "Round": "torch.round(%s)",  # halves to even, as ONNX rounds
    "Sin": "torch.sin(%s)",
    "Cos": "torch.cos(%s)",
    "Tan": "torch.tan(%s)",
    "Asin": "torch.asin(%s)",
    "Acos": "torch.acos(%s)",
    "Atan": "torch.atan(%s)",
    "Sinh": "torch.sinh(%s)",
    "Cosh": "torch.cosh(%s)",
    "Asinh": "torch.asinh(%s)",
    "Acosh": "torch.acosh(%s)",
    "Atanh": "torch.atanh(%s)",
    "Not": "torch.logical_not(%s)",
    "BitwiseNot": "torch.bitwise_not(%s)",
    "Sign": "torch.sign(%s)",
    "IsNaN": "torch.isnan(%s)",
}


def _unary(fmt):
    def convert(node, ctx):
        ctx.assign(node, fmt % ctx.x(node.inputs[0]))

    return convert


for _op, _fmt in _UNARY.items():
    EMIT.register(_op)(_unary(_fmt))

_COMPARE = {
    "Equal": "torch.eq(%s, %s)",
    "Less": "torch.lt(%s, %s)",
    "Greater": "torch.gt(%s, %s)",
    "LessOrEqual": "torch.le(%s, %s)",
    "GreaterOrEqual": "torch.ge(%s, %s)",
    "And": "torch.logical_and(%s, %s)",
    "Or": "torch.logical_or(%s, %s)",
    "Xor": "torch.logical_xor(%s, %s)",
    "BitwiseAnd": "torch.bitwise_and(%s, %s)",
    "BitwiseOr": "torch.bitwise_or(%s, %s)",
    "BitwiseXor": "torch.bitwise_xor(%s, %s)",
}


def _compare(fmt):
    def convert(node, ctx):
        a, b = node.inputs[0], node.inputs[1]
        ctx.assign(node, fmt % (ctx.x(a), ctx.operand(b, a)))

    return convert


for _op, _fmt in _COMPARE.items():
    EMIT.register(_op)(_compare(_fmt))


def _variadic(node, ctx, fn):
    vals = [ctx.x(i) for i in node.inputs if i]
    expr = vals[0]
    for v in vals[1:]:
        expr = "%s(%s, %s)" % (fn, expr, v)
    return expr


@EMIT.register("Max")
def max_(node, ctx):
    ctx.assign(node, _variadic(node, ctx, "torch.maximum"))


@EMIT.register("Min")
def min_(node, ctx):
    ctx.assign(node, _variadic(node, ctx, "torch.minimum"))


@EMIT.register("Sum")
def sum_(node, ctx):
    ctx.assign(node, " + ".join(ctx.x(i) for i in node.inputs if i))


@EMIT.register("Mean")
def mean_(node, ctx):
    vals = [ctx.x(i) for i in node.inputs if i]
    ctx.assign(node, "(%s) / %d" % (" + ".join(vals), len(vals)) if len(vals) > 1 else vals[0])


@EMIT.register("Where")
def where(node, ctx):
    c, a, b = node.inputs
    ctx.assign(node, "torch.where(%s, %s, %s)" % (ctx.x(c), ctx.x(a), ctx.x(b)))


@EMIT.register("Cast")
def cast(node, ctx, to=1, saturate=1):
    from onnx import helper

    try:
        dt = torch_dtype(helper.tensor_dtype_to_np_dtype(to))
    except (KeyError, TypeError, ValueError):
        raise ctx.fail("cast to ONNX type %d has no torch dtype" % to)
    ctx.assign(node, "%s.to(%s)" % (ctx.x(node.inputs[0]), dt))

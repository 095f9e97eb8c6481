"""One-input element-wise functions with an MXNet operator each (Relu, Sigmoid, Tanh, Softsign, Exp,
Log, Sqrt, Abs, Neg, Reciprocal, Floor, Ceil, Sign, Erf, the trigonometric and hyperbolic
functions, Identity), Round, IsNaN, IsInf."""

from ..codegen import EMIT, lit

_SIMPLE = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softsign": "softsign",
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Abs": "abs",
    "Neg": "negative",
    "Reciprocal": "reciprocal",
    "Floor": "floor",
    "Ceil": "ceil",
    "Sign": "sign",
    "Erf": "erf",
    "Sin": "sin",
    "Cos": "cos",
    "Tan": "tan",
    "Asin": "arcsin",
    "Acos": "arccos",
    "Atan": "arctan",
    "Sinh": "sinh",
    "Cosh": "cosh",
    "Asinh": "arcsinh",
    "Acosh": "arccosh",
    "Atanh": "arctanh",
    "Identity": "identity",
}


@EMIT.register(*sorted(_SIMPLE))
def simple(node, ctx):
    ctx.assign(node, ctx.call(_SIMPLE[node.op_type], ctx.x(node.input(0))))


def round_half_even(ctx, x):
    """ONNX rounds halves to even; MXNet's round takes them away from zero: a half is 2 * round(x / 2)."""
    away = ctx.temp(ctx.call("round", x), "away")
    half = ctx.temp("(%s == 0.5)" % ctx.call("abs", "(%s - %s)" % (x, ctx.call("trunc", x))), "half")
    even = ctx.temp("(%s * 2.0)" % ctx.call("round", "(%s * 0.5)" % x), "even")
    return ctx.call("where", half, even, away)


@EMIT.register("Round")
def round_(node, ctx):
    ctx.assign(node, round_half_even(ctx, ctx.x(node.input(0))))


@EMIT.register("IsNaN")
def is_nan(node, ctx):
    x = ctx.x(node.input(0))
    ctx.assign(node, ctx.as_bool(ctx.call("broadcast_not_equal", x, x)))


@EMIT.register("IsInf")
def is_inf(node, ctx, detect_negative=1, detect_positive=1):
    x = ctx.x(node.input(0))
    if detect_negative and detect_positive:
        expr = "(%s == %s)" % (ctx.call("abs", x), lit(float("inf")))
    elif detect_positive:
        expr = "(%s == %s)" % (x, lit(float("inf")))
    elif detect_negative:
        expr = "(%s == %s)" % (x, lit(float("-inf")))
    else:
        expr = "(%s * 0.0)" % ctx.call("zeros_like", x)
    ctx.assign(node, ctx.as_bool(expr))

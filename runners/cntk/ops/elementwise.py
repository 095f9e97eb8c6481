"""Element-wise arithmetic and activations. CNTK broadcasts like numpy over its shapes without the
batch axis; a constant with the batch axis (size 1) loses it."""

from runners.common.codegen import lit

from . import EMIT

BINARY = {"Add": "plus", "Sub": "minus", "Mul": "element_times", "Div": "element_divide"}
UNARY = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Abs": "abs",
    "Neg": "negate",
    "Reciprocal": "reciprocal",
    "Floor": "floor",
    "Ceil": "ceil",
    "Softplus": "softplus",
}


def _operand(ctx, name, other):
    rank = ctx.rank(other) if other in ctx.batched and other not in ctx.hidden else None
    return ctx.x(name, rank=rank)


@EMIT.register(*sorted(BINARY), since=14)
def binary(node, ctx):
    a, b = node.input(0), node.input(1)
    if a not in ctx.batched and b not in ctx.batched:
        raise ctx.fail("an operation on constants only; fold it first (e.g. with onnxsim)")
    args = (_operand(ctx, a, b), _operand(ctx, b, a))
    ctx.assign(node, ctx.call(BINARY[node.op_type], *args))


@EMIT.register(*sorted(UNARY), since=6)
def unary(node, ctx):
    ctx.assign(node, ctx.call(UNARY[node.op_type], ctx.x(node.input(0))))


@EMIT.register("Identity", since=16)
def identity(node, ctx):
    ctx.assign(node, ctx.call("alias", ctx.x(node.input(0))))


@EMIT.register("Dropout", since=13)
def dropout(node, ctx, seed=None):
    ctx.assign(node, ctx.call("alias", ctx.x(node.input(0))))  # identity at inference


@EMIT.register("LeakyRelu", since=16)
def leaky_relu(node, ctx, alpha=0.01):
    ctx.assign(node, ctx.call("leaky_relu", ctx.x(node.input(0)), alpha=float(alpha)))


@EMIT.register("Elu", since=6)
def elu(node, ctx, alpha=1.0):
    if alpha != 1.0:
        raise ctx.fail("CNTK's elu has alpha 1 only")
    ctx.assign(node, ctx.call("elu", ctx.x(node.input(0))))


@EMIT.register("Clip", since=13)
def clip(node, ctx):
    lo = ctx.const(node.input(1))
    hi = ctx.const(node.input(2))
    if (node.input(1) and lo is None) or (node.input(2) and hi is None):
        raise ctx.fail("clip bounds must be constants")
    lo = float(lo) if lo is not None else -3.4e38
    hi = float(hi) if hi is not None else 3.4e38
    ctx.assign(node, ctx.call("clip", ctx.x(node.input(0)), lit(lo), lit(hi)))


@EMIT.register("Softmax", since=13)
def softmax(node, ctx, axis=-1):
    x = node.input(0)
    ctx.assign(node, ctx.call("softmax", ctx.x(x), axis=ctx.axis(x, axis)))

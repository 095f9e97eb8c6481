"""Element-wise arithmetic and activations. CNTK broadcasts like numpy over its shapes without the
batch axis; an operand without the batch axis (a constant, an input that does not carry it) of the
full rank loses its leading axis of size 1."""

import numpy as np

from runners.common.codegen import lit

from ..emit import EMIT

BINARY = {"Add": "plus", "Sub": "minus", "Mul": "element_times", "Div": "element_divide", "Pow": "pow",
          "Max": "element_max", "Min": "element_min"}  # fmt: skip
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
    "Softsign": "softsign",
}


def operand(ctx, name, other):
    """The expression of `name` as an operand broadcast against (or laid out as) `other`. A value
    without the batch axis, of `other`'s full rank, loses its leading axis of size 1; a constant
    whose leading axis is the IR's batch becomes batch entries (C.to_batch)."""
    if not ctx.is_batched(other) or ctx.is_batched(name) or name in ctx.hidden:
        return ctx.x(name)
    rank = ctx.need_rank(other)
    shape = ctx.need_shape(name)
    if len(shape) < rank or shape[0] == 1:
        if name in ctx.consts:
            return ctx.x(name, rank=rank)
        return ctx.x(name) if len(shape) < rank else ctx.call("reshape", ctx.x(name), tuple(shape[1:]))
    if name in ctx.consts and shape[0] == ctx.need_shape(other)[0]:
        return ctx.call("to_batch", ctx.x(name))
    raise ctx.fail("'%s' (without the batch axis) varies along the batch axis of '%s'" % (name, other))


@EMIT.register(*sorted(BINARY))
def binary(node, ctx):
    a, b = node.inputs[0], node.inputs[1] if len(node.inputs) > 1 else None
    if b is None:  # a one-input Max or Min is the tensor
        ctx.assign(node, ctx.call("alias", ctx.x(a)))
        return
    ctx.assign(node, ctx.call(BINARY[node.op_type], operand(ctx, a, b), operand(ctx, b, a)))


@EMIT.register(*sorted(UNARY))
def unary(node, ctx):
    ctx.assign(node, ctx.call(UNARY[node.op_type], ctx.x(node.inputs[0])))


@EMIT.register("Identity")
def identity(node, ctx):
    """Left by canonicalization only where a graph output is another value (an input)."""
    ctx.assign(node, ctx.call("alias", ctx.x(node.inputs[0])))


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    ctx.assign(node, ctx.call("leaky_relu", ctx.x(node.inputs[0]), alpha=float(alpha)))


@EMIT.register("PRelu")
def prelu(node, ctx):
    slope = ctx.need_const(node, 1, "the slope")
    x = node.inputs[0]
    ctx.assign(node, ctx.call("param_relu", operand(ctx, node.inputs[1], x) if slope.size > 1 else ctx.weight(
        node.inputs[1], slope.reshape(()), "parameter"), ctx.x(x)))  # fmt: skip


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    ctx.assign(node, ctx.call("elu", ctx.x(node.inputs[0]), alpha=float(alpha)))


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    """alpha * elu(x / alpha)"""
    inner = ctx.call("elu", ctx.call("element_divide", ctx.x(node.inputs[0]), lit(float(alpha))))
    ctx.assign(node, ctx.call("element_times", inner, lit(float(alpha))))


@EMIT.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    ctx.assign(node, ctx.call("selu", ctx.x(node.inputs[0]), alpha=float(alpha), scale=float(gamma)))


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    ctx.assign(node, ctx.call("hard_sigmoid", ctx.x(node.inputs[0]), float(alpha), float(beta)))


@EMIT.register("HardSwish")
def hard_swish(node, ctx):
    x = ctx.x(node.inputs[0])
    ctx.assign(node, ctx.call("element_times", x, ctx.call("hard_sigmoid", x, 1.0 / 6, 0.5)))


@EMIT.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    x = ctx.x(node.inputs[0])
    ctx.assign(node, ctx.call("element_times", x, ctx.call("greater", x, lit(float(alpha)))))


@EMIT.register("Sign")
def sign(node, ctx):
    x = ctx.x(node.inputs[0])
    ctx.assign(node, ctx.call("minus", ctx.call("greater", x, lit(0.0)), ctx.call("less", x, lit(0.0))))


@EMIT.register("Mish")
def mish(node, ctx):
    x = ctx.x(node.inputs[0])
    ctx.assign(node, ctx.call("element_times", x, ctx.call("tanh", ctx.call("softplus", x))))


@EMIT.register("Clip")
def clip(node, ctx):
    """min(max(x, low), high), as ONNX defines it (high wins where low > high); the bounds are
    constants or computed scalars."""
    x = node.inputs[0]
    expr = ctx.x(x)
    for i, op in ((1, "element_max"), (2, "element_min")):
        if not node.input(i):
            continue
        value = ctx.const(node.inputs[i])
        if value is None:
            if ctx.need_shape(node.inputs[i]) not in ([], [1]):
                raise ctx.fail("a Clip bound that is not a scalar")
            bound = operand(ctx, node.inputs[i], x)
        else:
            bound = lit(float(np.asarray(value).reshape(-1)[0]))
        expr = ctx.call(op, expr, bound)
    ctx.assign(node, expr if expr != ctx.x(x) else ctx.call("alias", expr))


@EMIT.register("Softmax", "LogSoftmax")
def softmax(node, ctx, axis=-1):
    x = node.inputs[0]
    op = "softmax" if node.op_type == "Softmax" else "log_softmax"
    ctx.assign(node, ctx.call(op, ctx.x(x), axis=ctx.axis(x, axis)))

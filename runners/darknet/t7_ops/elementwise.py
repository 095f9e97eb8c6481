"""Element-wise modules: ReLU (Threshold 0 -> 0 only), Tanh, Sigmoid, SoftMax, Power, Square, Sqrt,
MulConstant, Dropout (Torch7's first Dropout scales by 1 - p at evaluation; v2 passes through)."""

import numpy as np

from ..t7.parse import T7


def _unary(ctx, op, x, kind, **attrs):
    return ctx.node(op, [x], ctx.layer_name(kind), ctx.shape(x), **attrs)


def _scale(ctx, x, factor, kind):
    name = ctx.layer_name(kind)
    return ctx.node("Mul", [x, ctx.const(name + ".scale", np.float32(factor))], name, ctx.shape(x))


@T7.register("ReLU")
def relu(m, ctx, x, path):
    if float(m.get("threshold", 0)) != 0 or float(m.get("val", 0)) != 0:
        raise ctx.fail("unsupported-attribute", "a threshold or value other than 0 (OpenCV's importer ignores them)")
    return _unary(ctx, "Relu", x, "ReLU")


@T7.register("Tanh")
def tanh(m, ctx, x, path):
    return _unary(ctx, "Tanh", x, "TanH")


@T7.register("Sigmoid")
def sigmoid(m, ctx, x, path):
    return _unary(ctx, "Sigmoid", x, "Sigmoid")


@T7.register("SoftMax")
def softmax(m, ctx, x, path):
    return _unary(ctx, "Softmax", x, "Softmax", axis=1)


@T7.register("Power", "Square", "Sqrt")
def power(m, ctx, x, path):
    from ..t7.parse import nn_name

    kind = nn_name(m)
    if kind == "Square":
        name = ctx.layer_name("Power")
        return ctx.node("Mul", [x, x], name, ctx.shape(x))
    if kind == "Sqrt":
        return _unary(ctx, "Sqrt", x, "Power")
    name = ctx.layer_name("Power")
    exponent = ctx.const(name + ".pow", np.float32(ctx.number(m, "pow", 1.0)))
    return ctx.node("Pow", [x, exponent], name, ctx.shape(x))


@T7.register("MulConstant")
def mul_constant(m, ctx, x, path):
    return _scale(ctx, x, float(ctx.number(m, "constant_scalar")), "Power")


@T7.register("Dropout", "SpatialDropout")
def dropout(m, ctx, x, path):
    if m.get("v2", False):
        ctx.layer_name("Identity")
        return x
    return _scale(ctx, x, 1.0 - float(ctx.number(m, "p", 0.5)), "Power")

"""MIL activations, arithmetic, logic, shape and layout ops, shape, fill and range_1d -> IR nodes."""

import numpy as np

from ..common import FROM_MIL

UNARY = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "identity": "Identity",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "erf": "Erf",
    "abs": "Abs",
    "exp": "Exp",
    "sqrt": "Sqrt",
    "floor": "Floor",
    "ceil": "Ceil",
    "sign": "Sign",
    "sin": "Sin",
    "cos": "Cos",
    "tan": "Tan",
    "asin": "Asin",
    "acos": "Acos",
    "atan": "Atan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "atanh": "Atanh",
    "logical_not": "Not",
}
BINARY = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "real_div": "Div",
    "maximum": "Max",
    "minimum": "Min",
    "pow": "Pow",
    "greater": "Greater",
    "less": "Less",
    "equal": "Equal",
    "greater_equal": "GreaterOrEqual",
    "less_equal": "LessOrEqual",
    "logical_and": "And",
    "logical_or": "Or",
    "logical_xor": "Xor",
}


def _unary(op, ctx, **attrs):
    ctx.node(UNARY[op.op_type], [ctx.input(op, "x")], [ctx.out(op)], **attrs)


@FROM_MIL.register(*UNARY)
def unary(op, ctx):
    _unary(op, ctx)


@FROM_MIL.register("silu")
def silu(op, ctx):
    out = ctx.out(op)
    x = ctx.input(op, "x")
    gate = ctx.node("Sigmoid", [x], [out + "__sigmoid"])
    ctx.node("Mul", [x, gate], [out])


@FROM_MIL.register("leaky_relu")
def leaky_relu(op, ctx):
    ctx.node("LeakyRelu", [ctx.input(op, "x")], [ctx.out(op)], alpha=float(ctx.val(op, "alpha", 0.01)))


@FROM_MIL.register("elu")
def elu(op, ctx):
    ctx.node("Elu", [ctx.input(op, "x")], [ctx.out(op)], alpha=float(ctx.val(op, "alpha", 1.0)))


@FROM_MIL.register("sigmoid_hard")
def sigmoid_hard(op, ctx):
    alpha, beta = float(ctx.val(op, "alpha", 0.2)), float(ctx.val(op, "beta", 0.5))
    ctx.node("HardSigmoid", [ctx.input(op, "x")], [ctx.out(op)], alpha=alpha, beta=beta)


@FROM_MIL.register("softmax")
def softmax(op, ctx):
    ctx.node("Softmax", [ctx.input(op, "x")], [ctx.out(op)], axis=int(ctx.val(op, "axis", -1)))


def _clip(op, ctx, lo, hi):
    out = ctx.out(op)
    bounds = [ctx.const(out + "__min", np.array(lo, np.float32)), ctx.const(out + "__max", np.array(hi, np.float32))]
    ctx.node("Clip", [ctx.input(op, "x")] + bounds, [out])


@FROM_MIL.register("relu6")
def relu6(op, ctx):
    _clip(op, ctx, 0.0, 6.0)


@FROM_MIL.register("clip")
def clip(op, ctx):
    _clip(op, ctx, float(ctx.val(op, "alpha")), float(ctx.val(op, "beta")))


def _binary(op, ctx):
    ctx.node(BINARY[op.op_type], [ctx.input(op, "x"), ctx.input(op, "y")], [ctx.out(op)])


@FROM_MIL.register(*BINARY)
def binary(op, ctx):
    _binary(op, ctx)


@FROM_MIL.register("concat")
def concat(op, ctx):
    if ctx.val(op, "interleave", False):
        raise ctx.fail("interleaved concat is not translated")
    values = [ctx.input_var(v) for v in op.inputs["values"]]
    ctx.node("Concat", values, [ctx.out(op)], axis=int(ctx.val(op, "axis")))


@FROM_MIL.register("reshape")
def reshape(op, ctx):
    """MIL's 0 copies the input's size when the ranks agree, ONNX's (allowzero=0) too."""
    ctx.node("Reshape", [ctx.input(op, "x"), ctx.int64(op, "shape")], [ctx.out(op)])


@FROM_MIL.register("transpose")
def transpose(op, ctx):
    perm = [int(p) for p in np.asarray(ctx.val(op, "perm")).reshape(-1)]
    ctx.node("Transpose", [ctx.input(op, "x")], [ctx.out(op)], perm=perm)


@FROM_MIL.register("pad")
def pad(op, ctx):
    widths = [int(p) for p in np.asarray(ctx.val(op, "pad")).reshape(-1)]
    rank = len(op.inputs["x"].shape)
    widths = [0] * (2 * rank - len(widths)) + widths  # MIL pads the last len(pad)/2 axes
    pads = widths[0::2] + widths[1::2]
    mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}.get(str(ctx.val(op, "mode", "constant")))
    if mode is None:
        raise ctx.fail("pad mode %s is not translated" % ctx.val(op, "mode"))
    out = ctx.out(op)
    inputs = [ctx.input(op, "x"), ctx.const(out + "__pads", np.array(pads, np.int64))]
    if mode == "constant":
        inputs.append(ctx.const(out + "__value", np.array(float(ctx.val(op, "constant_val", 0.0)), np.float32)))
    ctx.node("Pad", inputs, [out], mode=mode)


@FROM_MIL.register("shape")
def shape(op, ctx):
    """MIL's shape is int32, ONNX's int64: a Cast keeps the program's dtype."""
    out = ctx.out(op)
    dims = ctx.node("Shape", [ctx.input(op, "x")], [out + "__int64"])
    ctx.node("Cast", [dims], [out], to=6)


@FROM_MIL.register("fill")
def fill(op, ctx):
    from onnx import numpy_helper

    out = ctx.out(op)
    value = np.asarray(ctx.val(op, "value", 0.0))
    if value.dtype == np.float64:
        value = value.astype(np.float32)
    dims = ctx.int64(op, "shape")
    ctx.node("ConstantOfShape", [dims], [out], value=numpy_helper.from_array(value.reshape(1), out + "__value"))


@FROM_MIL.register("range_1d")
def range_1d(op, ctx):
    ctx.node("Range", [ctx.input(op, "start"), ctx.input(op, "end"), ctx.input(op, "step")], [ctx.out(op)])


@FROM_MIL.register("floor_div")
def floor_div(op, ctx):
    """Floor division: Floor(x / y) for floats; for integers (x - mod(x, y)) / y, exact where ONNX's
    integer Div truncates towards zero (Mod with fmod=0 takes the divisor's sign, as floor does)."""
    from coremltools.converters.mil.mil import types

    out = ctx.out(op)
    x, y = ctx.input(op, "x"), ctx.input(op, "y")
    if op.outputs[0].dtype == types.int32:
        rest = ctx.node("Mod", [x, y], [out + "__mod"], fmod=0)
        whole = ctx.node("Sub", [x, rest], [out + "__multiple"])
        ctx.node("Div", [whole, y], [out])
        return
    ctx.node("Floor", [ctx.node("Div", [x, y], [out + "__quotient"])], [out])

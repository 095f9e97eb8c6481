"""Element-wise ops. CNTK broadcasts like numpy over its row-major shapes, batch axis leading."""

from ..parse import PARSE

BINARY = {"Plus": "Add", "Minus": "Sub", "ElementTimes": "Mul", "ElementDivide": "Div"}
UNARY = {
    "ReLU": "Relu",
    "Sigmoid": "Sigmoid",
    "StableSigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "Exp": "Exp",
    "Log": "Log",
    "Sqrt": "Sqrt",
    "Abs": "Abs",
    "Negate": "Neg",
    "Reciprocal": "Reciprocal",
    "Floor": "Floor",
    "Ceil": "Ceil",
    "Softplus": "Softplus",
    "Dropout": "Identity",  # identity at inference
    "NoOp": "Identity",
    "Pass": "Identity",
    "StopGradient": "Identity",
}


@PARSE.register(*sorted(BINARY))
def binary(node, ctx):
    ctx.add(BINARY[node.op], node.inputs[:2], node.outputs)


@PARSE.register(*sorted(UNARY))
def unary(node, ctx):
    ctx.add(UNARY[node.op], node.inputs[:1], node.outputs)


@PARSE.register("ELU")
def elu(node, ctx):
    ctx.add("Elu", node.inputs[:1], node.outputs, alpha=float(node.attrs.get("alpha", 1.0)))


@PARSE.register("LeakyReLU")
def leaky_relu(node, ctx):
    """The LeakyReLU block, converted whole: its argument is its last input (constants first)."""
    ctx.add("LeakyRelu", node.inputs[-1:], node.outputs, alpha=float(node.attrs.get("alpha", 0.01)))


@PARSE.register("Softmax")
def softmax(node, ctx):
    """The primitive normalises over all static axes; the block (C.softmax(x, axis)) over one."""
    x = node.inputs[-1]
    rank = ctx.static_rank(x)
    if "axis" in node.attrs:
        axis = ctx.python_axis(node.attrs["axis"], rank)
        ctx.add("Softmax", [x], node.outputs, axis=axis + 1)
        return
    if rank <= 1:
        ctx.add("Softmax", [x], node.outputs, axis=-1)
        return
    shape = ctx.shape(x)
    flat = ctx.add("Flatten", [x], axis=1, shape=[shape[0], -1])
    y = ctx.add("Softmax", [flat], axis=-1, shape=[shape[0], -1])
    ctx.add("Reshape", [y, ctx.ints("shape", shape)], node.outputs)

"""Element-wise activations and Softmax -> ReLU, ReLU6, PReLU, Sigmoid, TanH, AbsVal, ELU, BNLL,
Exp, Log, Softmax."""

from ..emit import EMIT
from ._common import weight


def _simple(type_):
    def convert(node, ctx):
        ctx.layer(type_, [ctx.blob(node.inputs[0])], [node.outputs[0]])

    return convert


for _op, _type in (("Relu", "ReLU"), ("Sigmoid", "Sigmoid"), ("Tanh", "TanH"), ("Abs", "AbsVal"),
                   ("Softplus", "BNLL"), ("Exp", "Exp"), ("Log", "Log")):  # fmt: skip
    EMIT.register(_op)(_simple(_type))


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    layer = ctx.layer("ReLU", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    layer.relu_param.negative_slope = alpha


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    layer = ctx.layer("ELU", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    layer.elu_param.alpha = alpha


@EMIT.register("PRelu")
def prelu(node, ctx):
    slope = weight(ctx, node.inputs[1], "slope")
    shape = ctx.static_shape(node.inputs[0])
    layer = ctx.layer("PReLU", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    if slope.size == 1:
        layer.prelu_param.channel_shared = True
        ctx.add_blob(layer, slope.reshape(()))
        return
    full = [1] * (len(shape) - slope.ndim) + list(slope.shape)
    if len(shape) < 2 or full[1] != shape[1] or slope.size != shape[1]:
        raise ctx.fail("PReLU slope of shape %s; Caffe has one slope per channel" % list(slope.shape))
    ctx.add_blob(layer, slope.reshape(-1))


@EMIT.register("Clip")
def clip(node, ctx):
    low, high = ctx.const(node.input(1)), ctx.const(node.input(2))
    if low is not None and float(low) == 0.0 and high is not None:
        layer = ctx.layer("ReLU6", [ctx.blob(node.inputs[0])], [node.outputs[0]])
        layer.relu6_param.threshold = float(high)
    elif low is not None and float(low) == 0.0 and high is None:
        ctx.layer("ReLU", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    else:
        raise ctx.fail("Clip to [%s, %s]; Caffe clips only to [0, t] (ReLU6)" % (low, high))


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    rank = len(ctx.static_shape(node.inputs[0]))
    layer = ctx.layer("Softmax", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    layer.softmax_param.axis = axis + rank if axis < 0 else axis

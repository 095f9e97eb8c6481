"""Element-wise activations and Softmax -> ReLU, ReLU6, PReLU, Sigmoid, TanH, AbsVal, ELU, BNLL,
Exp, Log, HardSigmoid, HardSwish, Threshold, Softmax; the activations Caffe has no layer for as
short exact chains of those (Selu, Celu, Softsign, ThresholdedRelu, Sign, Mish, LogSoftmax, Clip
to any range)."""

import numpy as np

from ..emit import EMIT
from ._common import eltwise, negate, power


def _x(node, ctx):
    return ctx.blob(node.inputs[0])


def _simple(type_):
    def convert(node, ctx):
        ctx.layer(type_, [_x(node, ctx)], [node.outputs[0]])

    return convert


for _op, _type in (("Relu", "ReLU"), ("Sigmoid", "Sigmoid"), ("Tanh", "TanH"), ("Abs", "AbsVal"),
                   ("Softplus", "BNLL"), ("Exp", "Exp"), ("Log", "Log"), ("HardSwish", "HardSwish")):  # fmt: skip
    EMIT.register(_op)(_simple(_type))


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    layer = ctx.layer("ReLU", [_x(node, ctx)], [node.outputs[0]])
    layer.relu_param.negative_slope = alpha


def _elu(ctx, x, top, alpha):
    layer = ctx.layer("ELU", [x], [top])
    layer.elu_param.alpha = alpha
    return top


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    _elu(ctx, _x(node, ctx), node.outputs[0], alpha)


@EMIT.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    """gamma * ELU_alpha(x)"""
    power(ctx, _elu(ctx, _x(node, ctx), ctx.temp("elu"), alpha), node.outputs[0], scale=gamma)


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    """alpha * ELU_1(x / alpha)"""
    scaled = power(ctx, _x(node, ctx), ctx.temp("scaled"), scale=1.0 / alpha)
    power(ctx, _elu(ctx, scaled, ctx.temp("elu"), 1.0), node.outputs[0], scale=alpha)


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    layer = ctx.layer("HardSigmoid", [_x(node, ctx)], [node.outputs[0]])
    layer.hardsigmoid_param.alpha, layer.hardsigmoid_param.beta = alpha, beta


@EMIT.register("Softsign")
def softsign(node, ctx):
    """x * (1 + |x|)^-1"""
    x = _x(node, ctx)
    magnitude = ctx.layer("AbsVal", [x], [ctx.temp("abs")]).top[0]
    inverse = power(ctx, magnitude, ctx.temp("inverse"), power=-1.0, shift=1.0)
    eltwise(ctx, "PROD", [x, inverse], node.outputs[0])


def _above(ctx, x, threshold, suffix):
    layer = ctx.layer("Threshold", [x], [ctx.temp(suffix)])
    layer.threshold_param.threshold = threshold
    return layer.top[0]


@EMIT.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    """x * (x > alpha)"""
    x = _x(node, ctx)
    eltwise(ctx, "PROD", [x, _above(ctx, x, alpha, "above")], node.outputs[0])


@EMIT.register("Sign")
def sign(node, ctx):
    """(x > 0) - (-x > 0)"""
    x = _x(node, ctx)
    positive = _above(ctx, x, 0.0, "positive")
    negative = _above(ctx, negate(ctx, x), 0.0, "negative")
    eltwise(ctx, "SUM", [positive, negative], node.outputs[0], coeff=[1.0, -1.0])


@EMIT.register("Mish")
def mish(node, ctx):
    """x * tanh(softplus(x))"""
    x = _x(node, ctx)
    soft = ctx.layer("BNLL", [x], [ctx.temp("softplus")]).top[0]
    squashed = ctx.layer("TanH", [soft], [ctx.temp("tanh")]).top[0]
    eltwise(ctx, "PROD", [x, squashed], node.outputs[0])


@EMIT.register("PRelu")
def prelu(node, ctx):
    slope = ctx.need_const(node, 1, "the slope")
    shape = ctx.need_shape(node.inputs[0])
    layer = ctx.layer("PReLU", [_x(node, ctx)], [node.outputs[0]])
    if slope.size == 1:
        layer.prelu_param.channel_shared = True
        ctx.add_blob(layer, slope.reshape(()))
        return
    full = [1] * (len(shape) - slope.ndim) + list(slope.shape)
    if len(shape) < 2 or full[1] != shape[1] or slope.size != shape[1]:
        raise ctx.fail("PReLU slope of shape %s; Caffe has one slope per channel" % list(slope.shape))
    ctx.add_blob(layer, slope.reshape(-1))


def _bound(ctx, node, i):
    if not node.input(i):
        return None
    value = ctx.need_const(node, i, "the Clip bound")
    return float(np.asarray(value).reshape(-1)[0])


@EMIT.register("Clip")
def clip(node, ctx):
    """ReLU6 for [0, t], ReLU for [0, inf); any other range exactly as max(x, low) and
    -max(-x, -high), the bounds held by DummyData blobs."""
    low, high = _bound(ctx, node, 1), _bound(ctx, node, 2)
    x = _x(node, ctx)
    if low == 0.0 and high is not None and high > 0:
        layer = ctx.layer("ReLU6", [x], [node.outputs[0]])
        layer.relu6_param.threshold = high
        return
    if low == 0.0 and high is None:
        ctx.layer("ReLU", [x], [node.outputs[0]])
        return
    if low is None and high is None:
        ctx.alias[node.outputs[0]] = x
        return
    shape = ctx.need_shape(node.inputs[0])
    if low is not None:
        top = node.outputs[0] if high is None else ctx.temp("above_low")
        x = eltwise(ctx, "MAX", [x, ctx.filled(shape, low, "low")], top)
    if high is not None:
        lowest = eltwise(ctx, "MAX", [negate(ctx, x), ctx.filled(shape, -high, "minus_high")], ctx.temp("max_negated"))
        power(ctx, lowest, node.outputs[0], scale=-1.0)


def _softmax(ctx, node, axis, top):
    rank = ctx.need_rank(node.inputs[0])
    layer = ctx.layer("Softmax", [_x(node, ctx)], [top])
    layer.softmax_param.axis = axis + rank if axis < 0 else axis
    return top


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    _softmax(ctx, node, axis, node.outputs[0])


@EMIT.register("LogSoftmax")
def log_softmax(node, ctx, axis=-1):
    ctx.layer("Log", [_softmax(ctx, node, axis, ctx.temp("softmax"))], [node.outputs[0]])

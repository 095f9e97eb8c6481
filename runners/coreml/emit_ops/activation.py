"""Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, Tanh, HardSigmoid, HardSwish, Softplus,
Softsign, Clip, Softmax, Identity.

Only the activations of CoreML's classic `activation` layer and compositions of classic layers:
Clip is max(x, lo) and -max(-x, -hi) with the unary THRESHOLD (the clip layer is a version-4 layer,
which the rank-5 layout does not allow).
"""

import numpy as np

from ..context import EMIT, float32

FLT_MAX = 3.4028234663852886e38


def _activation(node, ctx, kind, params=None, x=None, out=None, suffix=""):
    x = ctx.feature(node.inputs[0]) if x is None else x
    out = ctx.out(node) if out is None else out
    ctx.builder.add_activation(ctx.layer(node, suffix), kind, x, out, params=params)
    return out


@EMIT.register("Relu")
def relu(node, ctx):
    _activation(node, ctx, "RELU")


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    _activation(node, ctx, "LEAKYRELU", [alpha])


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    _activation(node, ctx, "ELU", alpha)


@EMIT.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    """gamma * elu(x, alpha)."""
    e = _activation(node, ctx, "ELU", alpha, out=ctx.temp(node, "elu"), suffix="elu")
    _activation(node, ctx, "LINEAR", [gamma, 0.0], x=e)


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    """alpha * elu(x / alpha, 1)."""
    scaled = _activation(node, ctx, "LINEAR", [1.0 / alpha, 0.0], out=ctx.temp(node, "scaled"), suffix="scale")
    e = _activation(node, ctx, "ELU", 1.0, x=scaled, out=ctx.temp(node, "elu"), suffix="elu")
    _activation(node, ctx, "LINEAR", [alpha, 0.0], x=e)


@EMIT.register("Sigmoid")
def sigmoid(node, ctx):
    _activation(node, ctx, "SIGMOID")


@EMIT.register("Tanh")
def tanh(node, ctx):
    _activation(node, ctx, "TANH")


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    _activation(node, ctx, "SIGMOID_HARD", [alpha, beta])


@EMIT.register("HardSwish")
def hard_swish(node, ctx):
    """x * hard_sigmoid(x, 1/6, 1/2)."""
    x = ctx.feature(node.inputs[0])
    gate = _activation(node, ctx, "SIGMOID_HARD", [1.0 / 6, 0.5], out=ctx.temp(node, "gate"), suffix="gate")
    ctx.builder.add_elementwise(ctx.layer(node), [x, gate], ctx.out(node), "MULTIPLY")


@EMIT.register("Softplus")
def softplus(node, ctx):
    _activation(node, ctx, "SOFTPLUS")


@EMIT.register("Softsign")
def softsign(node, ctx):
    _activation(node, ctx, "SOFTSIGN")


def per_channel(ctx, value, shape, what):
    """A constant that broadcasts over [N, C, H, W] or [N, F] with one value per channel (or one in
    all) as C float32 values, else a refusal."""
    full = [1] * (len(shape) - value.ndim) + list(value.shape)
    if len(full) != len(shape) or full[0] != 1 or full[1] not in (1, shape[1]) or any(d != 1 for d in full[2:]):
        raise ctx.fail(
            "only a scalar or per-channel %s maps to CoreML (shape %s for an input of shape %s)"
            % (what, list(value.shape), shape)
        )
    return np.ascontiguousarray(np.broadcast_to(float32(value).reshape(-1), (shape[1],)))


@EMIT.register("PRelu")
def prelu(node, ctx):
    shape = ctx.need_shape(node.inputs[0])
    _activation(node, ctx, "PRELU", per_channel(ctx, ctx.need_const(node, 1, "the slope"), shape, "PRelu slope"))


@EMIT.register("Clip")
def clip(node, ctx):
    """max(x, lo) with a ReLU or the unary THRESHOLD, then min(x, hi) as -max(-x, -hi)."""
    low = float(ctx.need_const(node, 1, "the lower bound")) if node.input(1) else -FLT_MAX
    high = float(ctx.need_const(node, 2, "the upper bound")) if node.input(2) else FLT_MAX
    x = ctx.feature(node.inputs[0])
    if low == -FLT_MAX and high == FLT_MAX:
        ctx.alias(node, node.inputs[0])
        return
    if low > -FLT_MAX:
        y = ctx.out(node) if high == FLT_MAX else ctx.temp(node, "low")
        if low == 0.0:
            _activation(node, ctx, "RELU", x=x, out=y, suffix="low")
        else:
            ctx.builder.add_unary(ctx.layer(node, "low"), x, y, "threshold", alpha=low)
        x = y
    if high < FLT_MAX:
        neg = _activation(node, ctx, "LINEAR", [-1.0, 0.0], x=x, out=ctx.temp(node, "neg"), suffix="neg")
        ctx.builder.add_unary(ctx.layer(node, "high"), neg, ctx.temp(node, "neg_min"), "threshold", alpha=-high)
        _activation(node, ctx, "LINEAR", [-1.0, 0.0], x=ctx.temp(node, "neg_min"))


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    """CoreML's softmax layer normalises over the channels at each (H, W) position: ONNX's Softmax
    over axis 1 of an [N, C, H, W] or [N, F] value."""
    rank = ctx.need_rank(node.inputs[0])
    if axis % rank != 1:
        raise ctx.fail(
            "softmax over axis %d of a rank-%d value: CoreML's softmax layer works over the channels (axis 1)"
            % (axis, rank)
        )
    ctx.builder.add_softmax(ctx.layer(node), ctx.feature(node.inputs[0]), ctx.out(node))


@EMIT.register("Identity")
def identity(node, ctx):
    ctx.alias(node, node.inputs[0])

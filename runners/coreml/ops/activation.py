"""Relu, LeakyRelu, PRelu, Elu, Sigmoid, Tanh, HardSigmoid, Softplus, Clip, Softmax, Identity."""

import numpy as np

from ..context import EMIT, float32


def _activation(node, ctx, kind, params=None):
    ctx.builder.add_activation(ctx.layer(node), kind, ctx.feature(node.input(0)), ctx.out(node), params=params)


@EMIT.register("Relu", since=14)
def relu(node, ctx):
    _activation(node, ctx, "RELU")


@EMIT.register("LeakyRelu", since=16)
def leaky_relu(node, ctx, alpha=0.01):
    _activation(node, ctx, "LEAKYRELU", [alpha])


@EMIT.register("Elu", since=6)
def elu(node, ctx, alpha=1.0):
    _activation(node, ctx, "ELU", alpha)


@EMIT.register("Sigmoid", since=13)
def sigmoid(node, ctx):
    _activation(node, ctx, "SIGMOID")


@EMIT.register("Tanh", since=13)
def tanh(node, ctx):
    _activation(node, ctx, "TANH")


@EMIT.register("HardSigmoid", since=6)
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    _activation(node, ctx, "SIGMOID_HARD", [alpha, beta])


@EMIT.register("Softplus", since=1)
def softplus(node, ctx):
    _activation(node, ctx, "SOFTPLUS")


@EMIT.register("PRelu", since=16)
def prelu(node, ctx):
    slope = ctx.const(node.input(1))
    shape = ctx.shape(node.input(0))
    if slope is None or shape is None or len(shape) != 4:
        raise ctx.fail("PRelu needs a constant slope and an [N, C, H, W] input")
    channels = shape[1]
    flat = float32(slope).reshape(-1)
    if flat.size == 1:
        flat = np.full(channels, flat[0], np.float32)
    elif flat.size != channels or float32(slope).squeeze().ndim != 1:
        raise ctx.fail("only a scalar or per-channel PRelu slope maps to CoreML (slope shape %s)" % list(slope.shape))
    _activation(node, ctx, "PRELU", flat)


@EMIT.register("Clip", since=13)
def clip(node, ctx):
    low, high = -3.4028234663852886e38, 3.4028234663852886e38
    for i, default in ((1, low), (2, high)):
        name = node.input(i)
        if name is None:
            continue
        value = ctx.const(name)
        if value is None:
            raise ctx.fail("Clip bounds computed at run time have no CoreML equivalent")
        if i == 1:
            low = float(value)
        else:
            high = float(value)
    ctx.builder.add_clip(ctx.layer(node), ctx.feature(node.input(0)), ctx.out(node), min_value=low, max_value=high)


@EMIT.register("Softmax", since=13)
def softmax(node, ctx, axis=-1):
    rank = ctx.rank(node.input(0))
    if rank is None or axis % rank != 1:
        raise ctx.fail(
            "softmax over axis %d of a rank-%s value: CoreML's softmax layer works over channels (axis 1)"
            % (axis, rank)
        )
    ctx.builder.add_softmax(ctx.layer(node), ctx.feature(node.input(0)), ctx.out(node))


@EMIT.register("Identity", since=16)
def identity(node, ctx):
    ctx.alias(node, node.input(0))


@EMIT.register("Dropout", since=13)
def dropout(node, ctx, seed=0):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("Dropout's mask output has no CoreML equivalent")
    ctx.alias(node, node.input(0))

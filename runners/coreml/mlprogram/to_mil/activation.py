"""Activations and softmax as MIL ops."""

import numpy as np

from ..common import TO_MIL


def _unary(node, ctx, fn, **kw):
    from coremltools.converters.mil import Builder as mb

    ctx.set(node, getattr(mb, fn)(x=ctx.var(node.inputs[0]), name=ctx.out(node), **kw))


@TO_MIL.register("Relu", since=14)
def relu(node, ctx):
    _unary(node, ctx, "relu")


@TO_MIL.register("Sigmoid", since=13)
def sigmoid(node, ctx):
    _unary(node, ctx, "sigmoid")


@TO_MIL.register("Tanh", since=13)
def tanh(node, ctx):
    _unary(node, ctx, "tanh")


@TO_MIL.register("LeakyRelu", since=16)
def leaky_relu(node, ctx, alpha=0.01):
    _unary(node, ctx, "leaky_relu", alpha=np.float32(alpha))


@TO_MIL.register("Elu", since=6)
def elu(node, ctx, alpha=1.0):
    _unary(node, ctx, "elu", alpha=np.float32(alpha))


@TO_MIL.register("HardSigmoid", since=6)
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    _unary(node, ctx, "sigmoid_hard", alpha=np.float32(alpha), beta=np.float32(beta))


@TO_MIL.register("Softmax", since=13)
def softmax(node, ctx, axis=-1):
    _unary(node, ctx, "softmax", axis=int(axis))


@TO_MIL.register("Clip", since=13)
def clip(node, ctx):
    lo = ctx.const(node.input(1)) if node.input(1) else None
    hi = ctx.const(node.input(2)) if node.input(2) else None
    if (node.input(1) and lo is None) or (node.input(2) and hi is None):
        raise ctx.fail("Clip bounds must be constants")
    lo = np.float32(-np.inf if lo is None else lo)
    hi = np.float32(np.inf if hi is None else hi)
    if lo == 0 and np.isinf(hi):
        _unary(node, ctx, "relu")
    elif lo == 0 and hi == 6:
        _unary(node, ctx, "relu6")
    else:
        _unary(node, ctx, "clip", alpha=lo, beta=hi)

"""Relu, Clip, LeakyRelu, Sigmoid, Tanh, Softmax, Elu, Selu, HardSigmoid, HardSwish, Softplus,
Gelu, Erf-free activations: element-wise, so they keep the layout of their input."""

import numpy as np

from ..codegen import EMIT, lit


def _keep(node, ctx, ctor):
    var, layout = ctx.any(node.inputs[0])
    ctx.layer(node, ctor, [var], layout)


@EMIT.register("Relu", since=14)
def relu(node, ctx):
    _keep(node, ctx, "layers.ReLU()")


@EMIT.register("Clip", since=13)
def clip(node, ctx):
    lo = ctx.const(node.input(1)) if node.input(1) else None
    hi = ctx.const(node.input(2)) if node.input(2) else None
    if (node.input(1) and lo is None) or (node.input(2) and hi is None):
        raise ctx.fail("Clip bounds must be constants")
    lo = None if lo is None else float(np.asarray(lo).reshape(-1)[0])
    hi = None if hi is None else float(np.asarray(hi).reshape(-1)[0])
    if lo == 0.0:
        _keep(node, ctx, "layers.ReLU(%s)" % ("max_value=%s" % lit(hi) if hi is not None else ""))
        return
    var, layout = ctx.any(node.inputs[0])
    lo_s = lit(lo) if lo is not None else 'float("-inf")'
    hi_s = lit(hi) if hi is not None else 'float("inf")'
    ctx.assign(node, "keras.ops.clip(%s, %s, %s)" % (var, lo_s, hi_s), layout)


@EMIT.register("LeakyRelu", since=16)
def leaky_relu(node, ctx, alpha=0.01):
    _keep(node, ctx, "layers.LeakyReLU(negative_slope=%s)" % lit(alpha))


_ACTIVATIONS = {
    "Sigmoid": ("sigmoid", 13),
    "Tanh": ("tanh", 13),
    "Softplus": ("softplus", 1),
    "Softsign": ("softsign", 1),
}


def _activation(name):
    def convert(node, ctx):
        _keep(node, ctx, "layers.Activation(%r)" % name)

    return convert


for _op, (_name, _since) in _ACTIVATIONS.items():
    EMIT.register(_op, since=_since)(_activation(_name))


@EMIT.register("Selu", since=6)
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    var, layout = ctx.any(node.inputs[0])
    expr = "%s * keras.ops.where(%s > 0, %s, %s * (keras.ops.exp(%s) - 1.0))" % (lit(gamma), var, var, lit(alpha), var)
    ctx.assign(node, expr, layout)


@EMIT.register("Elu", since=6)
def elu(node, ctx, alpha=1.0):
    _keep(node, ctx, "layers.ELU(alpha=%s)" % lit(alpha))


@EMIT.register("HardSigmoid", since=6)
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    var, layout = ctx.any(node.inputs[0])
    ctx.assign(node, "keras.ops.clip(%s * %s + %s, 0.0, 1.0)" % (var, lit(alpha), lit(beta)), layout)


@EMIT.register("HardSwish", since=14)
def hard_swish(node, ctx):
    var, layout = ctx.any(node.inputs[0])
    ctx.assign(node, "%s * keras.ops.clip(%s / 6.0 + 0.5, 0.0, 1.0)" % (var, var), layout)


@EMIT.register("Softmax", since=13)
def softmax(node, ctx, axis=-1):
    var, layout = ctx.any(node.inputs[0])
    rank = len(layout)
    axis = axis % rank
    ctx.layer(node, "layers.Softmax(axis=%d)" % layout.index(axis), [var], layout)

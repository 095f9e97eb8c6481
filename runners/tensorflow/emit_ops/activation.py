"""Activations: element-wise (they keep the layout of their input) except Softmax/LogSoftmax, which
take the stored position of their axis."""

import numpy as np

from ..codegen import EMIT, identity, lit


def _keep(node, ctx, ctor):
    var, layout = ctx.any(node.inputs[0])
    ctx.layer(node, ctor, [var], layout)


def _expr(node, ctx, template):
    """`template` with {x} the input variable, in the input's layout."""
    var, layout = ctx.any(node.inputs[0])
    ctx.assign(node, template.format(x=var), layout)


@EMIT.register("Relu")
def relu(node, ctx):
    _keep(node, ctx, "layers.ReLU()")


def _bound(node, ctx, i):
    """A Clip bound: a literal for a constant, a variable for a computed one, None when absent."""
    name = node.input(i)
    if not name:
        return None
    c = ctx.const(name)
    if c is None:
        return ctx.x(name) if ctx.rank(name) == 0 else None
    return lit(np.asarray(c).reshape(-1)[0].item())


@EMIT.register("Clip")
def clip(node, ctx):
    lo, hi = _bound(node, ctx, 1), _bound(node, ctx, 2)
    if (node.input(1) and lo is None) or (node.input(2) and hi is None):
        raise ctx.fail("Clip bounds must be scalars")
    lo_c, hi_c = ctx.const(node.input(1)), ctx.const(node.input(2))
    floats = (ctx.dtype(node.inputs[0]) or np.dtype("float32")).kind == "f"
    if floats and lo_c is not None and float(lo_c.reshape(-1)[0]) == 0.0 and (hi is None or hi_c is not None):
        _keep(node, ctx, "layers.ReLU(%s)" % ("max_value=%s" % hi if hi is not None else ""))
        return
    expr = "{x}"
    if lo is not None:
        expr = "keras.ops.maximum(%s, %s)" % (expr, lo)
    if hi is not None:
        expr = "keras.ops.minimum(%s, %s)" % (expr, hi)
    _expr(node, ctx, expr)


@EMIT.register("Gelu")
def gelu(node, ctx, approximate="none"):
    """ONNX's Gelu (opset 20; the broker fuses opset 18's erf and tanh arithmetic into it for
    targets that declare it, see broker/ir/fuse.py): the layer for the exact form, keras.ops.gelu for the tanh one (the
    'gelu' activation takes no option)."""
    if approximate == "tanh":
        _expr(node, ctx, "keras.ops.gelu({x}, approximate=True)")
    else:
        _keep(node, ctx, "layers.Activation('gelu')")


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    _keep(node, ctx, "layers.LeakyReLU(negative_slope=%s)" % lit(alpha))


@EMIT.register("PRelu")
def prelu(node, ctx):
    """layers.PReLU with its slopes in the stored layout, shared over the axes ONNX broadcasts them
    along; a slope computed at run time or varying along the batch axis as keras.ops.where."""
    x, slope = node.inputs
    var, layout = ctx.any(x)
    rank = len(layout)
    c = ctx.const(slope)
    shape = ctx.static_shape(x)
    if c is not None and shape is not None and c.ndim <= rank:
        full = c.reshape((1,) * (rank - c.ndim) + c.shape)
        if full.shape[0] == 1:
            stored = np.transpose(full, layout)[0]
            sizes = [shape[a] for a in layout[1:]]
            shared = [i + 1 for i, (s, d) in enumerate(zip(stored.shape, sizes)) if s == 1 and d != 1]
            alpha = np.broadcast_to(stored, [1 if i + 1 in shared else d for i, d in enumerate(sizes)])
            ctor = "layers.PReLU(%s)" % ("shared_axes=%s" % lit(shared) if shared else "")
            ctx.layer(node, ctor, [var], layout, params=[alpha])
            return
    if c is not None:
        a = ctx.broadcast_const(slope, rank, layout)
    elif ctx.rank(slope) == rank:
        a = ctx.x(slope, layout)
    else:  # a lower-rank slope broadcasts against the IR order
        var, layout, a = ctx.x(x), identity(rank), ctx.x(slope)
    ctx.assign(node, "keras.ops.where(keras.ops.greater_equal(%s, 0), %s, %s * %s)" % (var, var, var, a), layout)


_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish"}


def _activation(name):
    def convert(node, ctx):
        _keep(node, ctx, "layers.Activation(%r)" % name)

    return convert


for _op, _name in _ACTIVATIONS.items():
    EMIT.register(_op)(_activation(_name))


@EMIT.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    _expr(
        node,
        ctx,
        "%s * keras.ops.where(keras.ops.greater({x}, 0), {x}, %s * (keras.ops.exp({x}) - 1.0))"
        % (lit(gamma), lit(alpha)),
    )


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    _keep(node, ctx, "layers.ELU(alpha=%s)" % lit(alpha))


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    _expr(node, ctx, "keras.ops.celu({x}, alpha=%s)" % lit(alpha))


@EMIT.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    _expr(node, ctx, "keras.ops.where(keras.ops.greater({x}, %s), {x}, 0.0)" % lit(alpha))


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    _expr(node, ctx, "keras.ops.clip({x} * %s + %s, 0.0, 1.0)" % (lit(alpha), lit(beta)))


@EMIT.register("HardSwish")
def hard_swish(node, ctx):
    _keep(node, ctx, "layers.Activation('hard_swish')")


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    var, layout = ctx.any(node.inputs[0])
    ctx.layer(node, "layers.Softmax(axis=%d)" % layout.index(axis % len(layout)), [var], layout)


@EMIT.register("LogSoftmax")
def log_softmax(node, ctx, axis=-1):
    var, layout = ctx.any(node.inputs[0])
    ctx.assign(node, "keras.ops.log_softmax(%s, axis=%d)" % (var, layout.index(axis % len(layout))), layout)

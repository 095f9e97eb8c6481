"""Activations and softmax as MIL ops."""

import numpy as np

from ..common import TO_MIL
from ._common import f32, named


def _unary(node, ctx, fn, x=None, last=True, **kw):
    from coremltools.converters.mil import Builder as mb

    x = ctx.var(node.inputs[0]) if x is None else x
    out = getattr(mb, fn)(x=x, name=named(ctx, node, last), **kw)
    return ctx.set(node, out) if last else out


def _register(op, fn):
    @TO_MIL.register(op)
    def convert(node, ctx):
        _unary(node, ctx, fn)

    convert.__name__ = fn
    return convert


UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Softsign": "softsign",
         "Erf": "erf", "Abs": "abs", "Exp": "exp", "Sqrt": "sqrt", "Floor": "floor", "Ceil": "ceil", "Sign": "sign",
         "Sin": "sin", "Cos": "cos", "Tan": "tan", "Asin": "asin", "Acos": "acos", "Atan": "atan", "Sinh": "sinh",
         "Cosh": "cosh", "Atanh": "atanh"}  # fmt: skip
for _op, _fn in UNARY.items():
    _register(_op, _fn)


@TO_MIL.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    _unary(node, ctx, "leaky_relu", alpha=np.float32(alpha))


@TO_MIL.register("Elu")
def elu(node, ctx, alpha=1.0):
    _unary(node, ctx, "elu", alpha=np.float32(alpha))


@TO_MIL.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    """gamma * elu(x, alpha)."""
    from coremltools.converters.mil import Builder as mb

    e = _unary(node, ctx, "elu", last=False, alpha=np.float32(alpha))
    ctx.set(node, mb.mul(x=e, y=np.float32(gamma), name=ctx.out(node)))


@TO_MIL.register("Celu")
def celu(node, ctx, alpha=1.0):
    """alpha * elu(x / alpha, 1)."""
    from coremltools.converters.mil import Builder as mb

    scaled = mb.real_div(x=ctx.var(node.inputs[0]), y=np.float32(alpha), name=named(ctx, node, False))
    e = _unary(node, ctx, "elu", x=scaled, last=False, alpha=np.float32(1.0))
    ctx.set(node, mb.mul(x=e, y=np.float32(alpha), name=ctx.out(node)))


@TO_MIL.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    _unary(node, ctx, "sigmoid_hard", alpha=np.float32(alpha), beta=np.float32(beta))


@TO_MIL.register("HardSwish")
def hard_swish(node, ctx):
    """x * hard_sigmoid(x, 1/6, 1/2)."""
    from coremltools.converters.mil import Builder as mb

    gate = _unary(node, ctx, "sigmoid_hard", last=False, alpha=np.float32(1.0 / 6), beta=np.float32(0.5))
    ctx.set(node, mb.mul(x=ctx.var(node.inputs[0]), y=gate, name=ctx.out(node)))


@TO_MIL.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    """MIL keeps x >= alpha, ONNX x > alpha: the next float32 above alpha makes them the same."""
    _unary(node, ctx, "thresholded_relu", alpha=np.nextafter(np.float32(alpha), np.float32(np.inf)))


@TO_MIL.register("PRelu")
def prelu(node, ctx):
    """MIL prelu for a per-channel slope of a rank 3-5 value; else max(x, 0) + slope * min(x, 0)."""
    from coremltools.converters.mil import Builder as mb

    slope = np.asarray(ctx.need_const(node, 1, "the slope"))
    shape = ctx.need_shape(node.inputs[0])
    full = [1] * (len(shape) - slope.ndim) + list(slope.shape)
    x = ctx.var(node.inputs[0])
    if 3 <= len(shape) <= 5 and len(full) == len(shape) and full[0] == 1 and all(d == 1 for d in full[2:]):
        alpha = f32(np.broadcast_to(slope.reshape(-1), (shape[1],)))
        ctx.set(node, mb.prelu(x=x, alpha=alpha, name=ctx.out(node)))
        return
    pos = mb.relu(x=x, name=named(ctx, node, False))
    neg = mb.minimum(x=x, y=np.float32(0), name=named(ctx, node, False))
    scaled = mb.mul(x=neg, y=f32(slope), name=named(ctx, node, False))
    ctx.set(node, mb.add(x=pos, y=scaled, name=ctx.out(node)))


@TO_MIL.register("Softmax")
def softmax(node, ctx, axis=-1):
    _unary(node, ctx, "softmax", axis=int(axis))


@TO_MIL.register("LogSoftmax")
def log_softmax(node, ctx, axis=-1):
    """x - log(sum(exp(x))) over the axis."""
    from coremltools.converters.mil import Builder as mb

    x = ctx.var(node.inputs[0])
    lse = mb.reduce_log_sum_exp(x=x, axes=[int(axis)], keep_dims=True, name=named(ctx, node, False))
    ctx.set(node, mb.sub(x=x, y=lse, name=ctx.out(node)))


@TO_MIL.register("Clip")
def clip(node, ctx):
    lo = ctx.need_const(node, 1, "the lower bound") if node.input(1) else None
    hi = ctx.need_const(node, 2, "the upper bound") if node.input(2) else None
    lo = np.float32(-np.inf if lo is None else lo)
    hi = np.float32(np.inf if hi is None else hi)
    if lo == 0 and np.isinf(hi):
        _unary(node, ctx, "relu")
    elif lo == 0 and hi == 6:
        _unary(node, ctx, "relu6")
    else:
        _unary(node, ctx, "clip", alpha=lo, beta=hi)

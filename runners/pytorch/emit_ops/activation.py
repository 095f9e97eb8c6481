"""Activations: Relu, LeakyRelu, PRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish, Elu, Selu,
Celu, Softplus, Softsign, Mish, Gelu, Erf, Softmax, LogSoftmax, ThresholdedRelu, Hardmax, Shrink."""

import numpy as np

from ..codegen import EMIT, lit


def _layer(node, ctx, ctor):
    mod = ctx.module(node, ctor)
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])))


@EMIT.register("Relu")
def relu(node, ctx):
    _layer(node, ctx, "nn.ReLU()")


@EMIT.register("Sigmoid")
def sigmoid(node, ctx):
    _layer(node, ctx, "nn.Sigmoid()")


@EMIT.register("Tanh")
def tanh(node, ctx):
    _layer(node, ctx, "nn.Tanh()")


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    _layer(node, ctx, "nn.LeakyReLU(%s)" % lit(np.float32(alpha)))


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    _layer(node, ctx, "nn.ELU(%s)" % ("" if alpha == 1.0 else "alpha=%s" % lit(np.float32(alpha))))


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    _layer(node, ctx, "nn.CELU(%s)" % ("" if alpha == 1.0 else "alpha=%s" % lit(np.float32(alpha))))


@EMIT.register("Selu")
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    if np.isclose(alpha, 1.6732632423543772, atol=1e-6) and np.isclose(gamma, 1.0507009873554805, atol=1e-6):
        _layer(node, ctx, "nn.SELU()")
        return
    x = ctx.x(node.inputs[0])
    ctx.assign(
        node,
        "%s * torch.where(%s > 0, %s, %s * (torch.exp(%s) - 1))"
        % (lit(np.float32(gamma)), x, x, lit(np.float32(alpha)), x),
    )


@EMIT.register("Softplus")
def softplus(node, ctx):
    _layer(node, ctx, "nn.Softplus()")


@EMIT.register("Softsign")
def softsign(node, ctx):
    _layer(node, ctx, "nn.Softsign()")


@EMIT.register("Mish")
def mish(node, ctx):
    _layer(node, ctx, "nn.Mish()")


@EMIT.register("HardSwish")
def hard_swish(node, ctx):
    _layer(node, ctx, "nn.Hardswish()")


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    if abs(alpha - 1.0 / 6) < 1e-6 and abs(beta - 0.5) < 1e-7:
        _layer(node, ctx, "nn.Hardsigmoid()")
        return
    ctx.assign(
        node,
        "torch.clamp(%s * %s + %s, 0.0, 1.0)" % (ctx.x(node.inputs[0]), lit(np.float32(alpha)), lit(np.float32(beta))),
    )


@EMIT.register("Gelu")
def gelu(node, ctx, approximate="none"):
    _layer(node, ctx, "nn.GELU()" if approximate == "none" else "nn.GELU(approximate=%r)" % approximate)


@EMIT.register("Erf")
def erf(node, ctx):
    ctx.assign(node, "torch.erf(%s)" % ctx.x(node.inputs[0]))


@EMIT.register("Clip")
def clip(node, ctx):
    x = node.inputs[0]
    lo_name, hi_name = node.input(1), node.input(2)
    lo = ctx.const(lo_name) if lo_name else None
    hi = ctx.const(hi_name) if hi_name else None
    if (lo_name and lo is None) or (hi_name and hi is None):
        ctx.assign(
            node,
            "torch.clamp(%s, %s, %s)"
            % (ctx.x(x), ctx.x(lo_name) if lo_name else "None", ctx.x(hi_name) if hi_name else "None"),
        )
        return
    lo = None if lo is None else lo.reshape(()).item()
    hi = None if hi is None else hi.reshape(()).item()
    if lo == 0 and hi == 6:
        _layer(node, ctx, "nn.ReLU6()")
    elif lo == 0 and hi is None:
        _layer(node, ctx, "nn.ReLU()")
    elif lo is None and hi is None:
        ctx.assign(node, ctx.x(x))
    else:
        dt = ctx.dtype(x)
        args = []
        if lo is not None:
            args.append("min=%s" % lit(lo, dt))
        if hi is not None:
            args.append("max=%s" % lit(hi, dt))
        ctx.assign(node, "torch.clamp(%s, %s)" % (ctx.x(x), ", ".join(args)))


@EMIT.register("PRelu")
def prelu(node, ctx):
    x, s_name = node.inputs[0], node.inputs[1]
    slope = ctx.const(s_name)
    rank = ctx.rank(x)
    if slope is not None:
        if slope.size == 1:
            mod = ctx.module(node, "nn.PReLU()", {"weight": slope.reshape(1)}, hint=ctx.weight_hint(s_name))
            ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)))
            return
        c = slope.shape[0] if slope.ndim else 1
        if rank is not None and rank >= 2 and slope.ndim == rank - 1 and all(d == 1 for d in slope.shape[1:]):
            mod = ctx.module(node, "nn.PReLU(%d)" % c, {"weight": slope.reshape(c)}, hint=ctx.weight_hint(s_name))
            ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)))
            return
    xv = ctx.x(x)
    ctx.assign(node, "torch.where(%s >= 0, %s, %s * %s)" % (xv, xv, xv, ctx.x(s_name)))


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    ctx.assign(node, "torch.softmax(%s, dim=%d)" % (ctx.x(node.inputs[0]), axis))


@EMIT.register("LogSoftmax")
def log_softmax(node, ctx, axis=-1):
    ctx.assign(node, "torch.log_softmax(%s, dim=%d)" % (ctx.x(node.inputs[0]), axis))


@EMIT.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    _layer(node, ctx, "nn.Threshold(%s, 0.0)" % lit(float(alpha)))


@EMIT.register("Hardmax")
def hardmax(node, ctx, axis=-1):
    """1 at the first largest value along `axis` (torch.argmax picks the first, as ONNX does)."""
    x = ctx.x(node.inputs[0])
    ctx.assign(
        node, "torch.zeros_like(%s).scatter(%d, torch.argmax(%s, dim=%d, keepdim=True), 1.0)" % (x, axis, x, axis)
    )


@EMIT.register("Shrink")
def shrink(node, ctx, bias=0.0, lambd=0.5):
    x = ctx.x(node.inputs[0])
    if bias == 0.0:
        ctx.assign(node, "F.hardshrink(%s, %s)" % (x, lit(np.float32(lambd))))
    elif bias == lambd:
        ctx.assign(node, "F.softshrink(%s, %s)" % (x, lit(np.float32(lambd))))
    else:
        b, lo = lit(np.float32(bias)), lit(np.float32(lambd))
        ctx.assign(
            node, "torch.where(%s < -%s, %s + %s, torch.where(%s > %s, %s - %s, 0.0))" % (x, lo, x, b, x, lo, x, b)
        )

"""Element-wise layers: ReLU (leaky with negative_slope), ReLU6, Sigmoid, TanH, AbsVal, BNLL, ELU,
Threshold, Power, Exp, Log, PReLU, brocolli-caffe's HardSigmoid and HardSwish; Softmax over `axis`."""

import math

from ..parse import PARSE


def _same_shape(ctx):
    ctx.set_shape(0, ctx.shape(0))


def _unary(op, **attrs):
    def convert(layer, ctx):
        ctx.node(op, [ctx.bottom(0)], [ctx.top(0)], **attrs)
        _same_shape(ctx)

    return convert


for _type, _op in (("Sigmoid", "Sigmoid"), ("TanH", "Tanh"), ("AbsVal", "Abs"), ("BNLL", "Softplus"),
                   ("HardSwish", "HardSwish")):  # fmt: skip
    PARSE.register(_type)(_unary(_op))


@PARSE.register("ReLU")
def relu(layer, ctx):
    slope = layer.relu_param.negative_slope
    if slope:
        ctx.node("LeakyRelu", [ctx.bottom(0)], [ctx.top(0)], alpha=float(slope))
    else:
        ctx.node("Relu", [ctx.bottom(0)], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("ReLU6")
def relu6(layer, ctx):
    p = layer.relu6_param
    x = ctx.bottom(0)
    if p.negative_slope:
        x2 = ctx.temp("leaky")
        ctx.node("LeakyRelu", [x], [x2], alpha=float(p.negative_slope))
        x, low = x2, ""
    else:
        low = ctx.const("min", 0.0)
    ctx.node("Clip", [x, low, ctx.const("max", float(p.threshold))], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("HardSigmoid")
def hard_sigmoid(layer, ctx):
    """brocolli-caffe's max(0, min(1, alpha * x + beta))"""
    p = layer.hardsigmoid_param
    ctx.node("HardSigmoid", [ctx.bottom(0)], [ctx.top(0)], alpha=float(p.alpha), beta=float(p.beta))
    _same_shape(ctx)


@PARSE.register("ELU")
def elu(layer, ctx):
    ctx.node("Elu", [ctx.bottom(0)], [ctx.top(0)], alpha=float(layer.elu_param.alpha))
    _same_shape(ctx)


@PARSE.register("Threshold")
def threshold(layer, ctx):
    above = ctx.temp("above")
    ctx.node("Greater", [ctx.bottom(0), ctx.const("threshold", float(layer.threshold_param.threshold))], [above])
    ctx.node("Cast", [above], [ctx.top(0)], to=1)
    _same_shape(ctx)


def _affine(ctx, x, scale, shift, last):
    """x * scale + shift with the trivial parts left out; the final value is named `last`."""
    steps = []
    if scale != 1.0:
        steps.append(("Mul", "scale", scale))
    if shift != 0.0:
        steps.append(("Add", "shift", shift))
    if not steps:
        ctx.node("Identity", [x], [last])
        return last
    for i, (op, name, value) in enumerate(steps):
        out = last if i == len(steps) - 1 else ctx.temp(name)
        ctx.node(op, [x, ctx.const(name, float(value))], [out])
        x = out
    return x


@PARSE.register("Power")
def power(layer, ctx):
    """y = (shift + scale * x) ^ power"""
    p = layer.power_param
    if p.power == 1.0:
        _affine(ctx, ctx.bottom(0), p.scale, p.shift, ctx.top(0))
    else:
        base = ctx.temp("base") if (p.scale != 1.0 or p.shift != 0.0) else ctx.bottom(0)
        if base != ctx.bottom(0):
            _affine(ctx, ctx.bottom(0), p.scale, p.shift, base)
        ctx.node("Pow", [base, ctx.const("power", float(p.power))], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("Exp")
def exp(layer, ctx):
    """y = base ^ (shift + scale * x), base e when -1"""
    p = layer.exp_param
    ln_base = 1.0 if p.base == -1 else math.log(p.base)
    arg = ctx.temp("arg")
    _affine(ctx, ctx.bottom(0), p.scale * ln_base, p.shift * ln_base, arg)
    ctx.node("Exp", [arg], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("Log")
def log(layer, ctx):
    """y = log_base(shift + scale * x), base e when -1"""
    p = layer.log_param
    arg = ctx.temp("arg")
    _affine(ctx, ctx.bottom(0), p.scale, p.shift, arg)
    if p.base == -1:
        ctx.node("Log", [arg], [ctx.top(0)])
    else:
        ln = ctx.temp("ln")
        ctx.node("Log", [arg], [ln])
        ctx.node("Mul", [ln, ctx.const("inv_ln_base", 1.0 / math.log(p.base))], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("PReLU")
def prelu(layer, ctx):
    shape = ctx.shape(0)
    shared = layer.prelu_param.channel_shared
    slope = ctx.blob(0, [1] if shared else [shape[1]], "slopes")
    if not shared:
        slope = slope.reshape([shape[1]] + [1] * (len(shape) - 2))
    ctx.node("PRelu", [ctx.bottom(0), ctx.const("slope", slope)], [ctx.top(0)])
    _same_shape(ctx)


@PARSE.register("Softmax")
def softmax(layer, ctx):
    ctx.node("Softmax", [ctx.bottom(0)], [ctx.top(0)], axis=int(layer.softmax_param.axis))
    _same_shape(ctx)

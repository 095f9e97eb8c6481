"""Relu, LeakyRelu, PRelu, Elu, Selu, Sigmoid, Tanh, Clip, Softmax, LogSoftmax, HardSigmoid,
Softplus, Softsign, Erf and other one-input functions."""

from ..codegen import EMIT

_SIMPLE = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Abs": "abs",
    "Neg": "negative",
    "Reciprocal": "reciprocal",
    "Floor": "floor",
    "Ceil": "ceil",
    "Erf": "erf",
    "Identity": "identity",
    "Softsign": "softsign",
}


@EMIT.register(*sorted(_SIMPLE), since=1)
def simple(node, ctx):
    ctx.assign(node, ctx.call(_SIMPLE[node.op_type], ctx.x(node.input(0))))


@EMIT.register("Dropout", since=12)
def dropout(node, ctx, seed=0):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("the Dropout mask output is not supported")
    ctx.assign(node, ctx.call("identity", ctx.x(node.input(0))))


@EMIT.register("Softplus", since=1)
def softplus(node, ctx):
    ctx.assign(node, ctx.call("Activation", ctx.x(node.input(0)), act_type="softrelu"))


@EMIT.register("LeakyRelu", since=6)
def leaky_relu(node, ctx, alpha=0.01):
    ctx.assign(node, ctx.call("LeakyReLU", ctx.x(node.input(0)), act_type="leaky", slope=float(alpha)))


@EMIT.register("Elu", since=6)
def elu(node, ctx, alpha=1.0):
    ctx.assign(node, ctx.call("LeakyReLU", ctx.x(node.input(0)), act_type="elu", slope=float(alpha)))


@EMIT.register("Selu", since=6)
def selu(node, ctx, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    if abs(alpha - 1.6732632) > 1e-6 or abs(gamma - 1.0507010) > 1e-6:
        raise ctx.fail("Selu with non-default alpha/gamma has no MXNet operator")
    ctx.assign(node, ctx.call("LeakyReLU", ctx.x(node.input(0)), act_type="selu"))


@EMIT.register("PRelu", since=9)
def prelu(node, ctx):
    x, slope_name = node.input(0), node.input(1)
    slope = ctx.const(slope_name)
    shape = ctx.shape(x)
    if slope is not None and shape is not None and len(shape) >= 2:
        channels = shape[1]
        trailing = slope.shape[1:] if slope.ndim == len(shape) - 1 else None
        if slope.size == 1 or (slope.shape[0] == channels and trailing is not None and all(d == 1 for d in trailing)):
            gamma = ctx.param(slope_name, slope.reshape(-1))
            ctx.assign(node, ctx.call("LeakyReLU", ctx.x(x), gamma, act_type="prelu"))
            return
    # general broadcasting: max(x, 0) + slope * min(x, 0)
    src, s = ctx.x(x), ctx.x(slope_name)
    pos = ctx.temp(ctx.call("relu", src), "pos")
    neg = ctx.temp(ctx.call("broadcast_mul", s, ctx.call("minimum", src, "0.0")), "neg")
    ctx.assign(node, ctx.call("broadcast_add", pos, neg))


@EMIT.register("Clip", since=11)
def clip(node, ctx):
    lo = ctx.scalar(node.input(1)) if node.input(1) else None
    hi = ctx.scalar(node.input(2)) if node.input(2) else None
    if (node.input(1) and lo is None) or (node.input(2) and hi is None):
        raise ctx.fail("Clip bounds must be constants")
    big = 3.4028234663852886e38
    ctx.assign(
        node,
        ctx.call(
            "clip",
            ctx.x(node.input(0)),
            a_min=float(lo) if lo is not None else -big,
            a_max=float(hi) if hi is not None else big,
        ),
    )


@EMIT.register("Softmax", since=13)
def softmax(node, ctx, axis=-1):
    ctx.assign(node, ctx.call("softmax", ctx.x(node.input(0)), axis=axis))


@EMIT.register("LogSoftmax", since=13)
def log_softmax(node, ctx, axis=-1):
    ctx.assign(node, ctx.call("log_softmax", ctx.x(node.input(0)), axis=axis))


@EMIT.register("HardSigmoid", since=6)
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    ctx.assign(node, ctx.call("hard_sigmoid", ctx.x(node.input(0)), alpha=float(alpha), beta=float(beta)))


@EMIT.register("HardSwish", since=14)
def hard_swish(node, ctx):
    src = ctx.x(node.input(0))
    gate = ctx.temp(ctx.call("hard_sigmoid", src, alpha=1.0 / 6, beta=0.5), "gate")
    ctx.assign(node, ctx.call("elemwise_mul", src, gate))

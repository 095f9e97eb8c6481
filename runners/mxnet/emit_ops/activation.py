"""Activations: LeakyRelu, PRelu, Elu, Selu, Celu, ThresholdedRelu, HardSigmoid, HardSwish, Softplus,
Mish, Shrink, Clip, Softmax, LogSoftmax, Hardmax (Relu, Sigmoid, Tanh, Softsign: unary.py)."""

from ..codegen import BIG, EMIT, lit


def _x(node, ctx):
    return ctx.x(node.input(0))


def _softplus(ctx, x):
    """max(x, 0) + log1p(exp(-|x|)): MXNet's softrelu, log(1 + exp(x)), loses the small values of
    large negative inputs."""
    tail = ctx.call("log1p", ctx.call("exp", ctx.call("negative", ctx.call("abs", x))))
    return ctx.call("elemwise_add", ctx.call("relu", x), tail)


@EMIT.register("Softplus")
def softplus(node, ctx):
    ctx.assign(node, _softplus(ctx, _x(node, ctx)))


@EMIT.register("Mish")
def mish(node, ctx):
    """x * tanh(softplus(x))."""
    x = _x(node, ctx)
    soft = ctx.temp(_softplus(ctx, x), "softplus")
    ctx.assign(node, ctx.call("elemwise_mul", x, ctx.call("tanh", soft)))


@EMIT.register("LeakyRelu")
def leaky_relu(node, ctx, alpha=0.01):
    ctx.assign(node, ctx.call("LeakyReLU", _x(node, ctx), act_type="leaky", slope=float(alpha)))


@EMIT.register("Elu")
def elu(node, ctx, alpha=1.0):
    ctx.assign(node, ctx.call("LeakyReLU", _x(node, ctx), act_type="elu", slope=float(alpha)))


SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


@EMIT.register("Selu")
def selu(node, ctx, alpha=SELU_ALPHA, gamma=SELU_GAMMA):
    """MXNet's selu has the default constants; others are gamma * elu(x, alpha)."""
    x = _x(node, ctx)
    if abs(alpha - SELU_ALPHA) < 1e-7 and abs(gamma - SELU_GAMMA) < 1e-7:
        ctx.assign(node, ctx.call("LeakyReLU", x, act_type="selu"))
        return
    e = ctx.temp(ctx.call("LeakyReLU", x, act_type="elu", slope=float(alpha)), "elu")
    ctx.assign(node, "(%s * %s)" % (e, lit(float(gamma))))


@EMIT.register("Celu")
def celu(node, ctx, alpha=1.0):
    """alpha * elu(x / alpha, 1)."""
    x = _x(node, ctx)
    e = ctx.temp(ctx.call("LeakyReLU", "(%s / %s)" % (x, lit(float(alpha))), act_type="elu", slope=1.0), "elu")
    ctx.assign(node, "(%s * %s)" % (e, lit(float(alpha))))


@EMIT.register("ThresholdedRelu")
def thresholded_relu(node, ctx, alpha=1.0):
    x = _x(node, ctx)
    ctx.assign(node, ctx.call("where", "(%s > %s)" % (x, lit(float(alpha))), x, ctx.call("zeros_like", x)))


@EMIT.register("Shrink")
def shrink(node, ctx, bias=0.0, lambd=0.5):
    x = _x(node, ctx)
    low = ctx.temp(ctx.call("where", "(%s < %s)" % (x, lit(-float(lambd))), "(%s + %s)" % (x, lit(float(bias))),
                            ctx.call("zeros_like", x)), "low")  # fmt: skip
    ctx.assign(node, ctx.call("where", "(%s > %s)" % (x, lit(float(lambd))), "(%s - %s)" % (x, lit(float(bias))), low))


@EMIT.register("PRelu")
def prelu(node, ctx):
    x, slope_name = node.input(0), node.input(1)
    slope = ctx.const(slope_name)
    shape = ctx.shape(x)
    if slope is not None and shape is not None and len(shape) >= 2:
        channels = shape[1]
        trailing = slope.shape[1:] if slope.ndim == len(shape) - 1 else None
        if slope.size == 1 or (slope.shape[0] == channels and trailing is not None and all(d == 1 for d in trailing)):
            gamma = ctx.param(slope_name + "_channels", slope.reshape(-1))
            ctx.assign(node, ctx.call("LeakyReLU", ctx.x(x), gamma, act_type="prelu"))
            return
    # general broadcasting: max(x, 0) + slope * min(x, 0)
    src, s = ctx.x(x), ctx.x(slope_name)
    pos = ctx.temp(ctx.call("relu", src), "pos")
    neg = ctx.temp(ctx.call("broadcast_mul", s, ctx.call("minimum", src, "0.0")), "neg")
    ctx.assign(node, ctx.call("broadcast_add", pos, neg))


@EMIT.register("Clip")
def clip(node, ctx):
    """Constant bounds: clip (floats) or scalar maximum/minimum; computed bounds: broadcast ones."""
    x = node.input(0)
    out = ctx.x(x)
    bounds = [(node.input(1), "maximum"), (node.input(2), "minimum")]
    if ctx.is_float(x) and all(not b or ctx.scalar(b) is not None for b, _ in bounds):
        lo = ctx.scalar(node.input(1)) if node.input(1) else -BIG
        hi = ctx.scalar(node.input(2)) if node.input(2) else BIG
        if lo <= hi:
            ctx.assign(node, ctx.call("clip", out, a_min=float(lo), a_max=float(hi)))
            return
    for b, op in bounds:  # ONNX: max(min_bound) first, then min(max_bound)
        if b:
            v = ctx.scalar(b)
            part = ctx.call(op, out, lit(v)) if v is not None else ctx.call("broadcast_" + op, out, ctx.x(b))
            out = ctx.temp(part, op)
    ctx.assign(node, ctx.call("identity", out))


@EMIT.register("HardSigmoid")
def hard_sigmoid(node, ctx, alpha=0.2, beta=0.5):
    ctx.assign(node, ctx.call("hard_sigmoid", _x(node, ctx), alpha=float(alpha), beta=float(beta)))


@EMIT.register("HardSwish")
def hard_swish(node, ctx):
    src = _x(node, ctx)
    gate = ctx.temp(ctx.call("hard_sigmoid", src, alpha=1.0 / 6, beta=0.5), "gate")
    ctx.assign(node, ctx.call("elemwise_mul", src, gate))


@EMIT.register("Softmax")
def softmax(node, ctx, axis=-1):
    ctx.assign(node, ctx.call("softmax", _x(node, ctx), axis=int(axis)))


@EMIT.register("LogSoftmax")
def log_softmax(node, ctx, axis=-1):
    ctx.assign(node, ctx.call("log_softmax", _x(node, ctx), axis=int(axis)))


@EMIT.register("Hardmax")
def hardmax(node, ctx, axis=-1):
    """one_hot of the first maximum's index along `axis`."""
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    axis = int(axis) % rank
    index = ctx.temp(ctx.call("argmax", ctx.x(x), axis=axis), "index")
    hot = ctx.temp(ctx.call("one_hot", index, depth=shape[axis], dtype=ctx.held_dtype(node.outputs[0])), "hot")
    if axis == rank - 1:
        ctx.assign(node, ctx.call("identity", hot))
        return
    perm = list(range(axis)) + [rank - 1] + list(range(axis, rank - 1))
    ctx.assign(node, ctx.call("transpose", hot, axes=tuple(perm)))

"""Add, Sub, Mul, Div, Sum, Mean, Max, Min, Neg, Abs, Sqrt, Exp, Log, Reciprocal, Pow (by a
constant).

Computed operands: CoreML's add, multiply, average, max and min layers, which take any number of
blobs of one batch and broadcast only whole (C, H, W), (C, 1, 1), (1, H, W) or (1, 1, 1) blobs
(max and min: (C, 1, 1)). A constant operand: a scalar becomes the layer's alpha (or the unary
THRESHOLD for max/min), a per-channel, (1, H, W) or (C, H, W) constant a bias or scale layer.
"""

import numpy as np

from ..context import EMIT, float32


def _chw_pattern(ctx, name, out_chw, patterns):
    chw = ctx.chw(name)
    kinds = {
        "chw": chw == out_chw,
        "c11": chw == [out_chw[0], 1, 1],
        "1hw": chw == [1] + out_chw[1:],
        "111": chw == [1, 1, 1],
    }
    return any(kinds[p] for p in patterns)


def _blobs(node, ctx, names, patterns=("chw", "c11", "1hw", "111")):
    """The blobs of computed operands that CoreML's elementwise layers broadcast to the output."""
    out = node.outputs[0]
    rank = ctx.need_rank(out)
    out_chw = ctx.chw(out)
    batch = ctx.need_shape(out)[0]
    for n in names:
        shape = ctx.need_shape(n)
        if len(shape) != rank or shape[0] != batch or not _chw_pattern(ctx, n, out_chw, patterns):
            raise ctx.fail(
                "operands of shapes %s do not broadcast in CoreML's elementwise layers (they take whole "
                "[N, C, H, W] values, or [N, C, 1, 1]%s ones of the same batch)"
                % ([ctx.shape(i) for i in node.inputs], "" if "1hw" not in patterns else ", [N, 1, H, W], [N, 1, 1, 1]")
            )
    return [ctx.feature(n) for n in names]


def _const_weights(ctx, node, x, value):
    """([1] | [C] | [1, H, W] | [C, H, W], float32 values) of a constant operand broadcast to `x`
    (a constant that broadcasts over some of H and W is written out over all of them)."""
    shape = ctx.need_shape(x)
    v = np.asarray(value)
    if v.size == 1:
        return [1], float32(v).reshape(1)
    full = [1] * (len(shape) - v.ndim) + list(v.shape)
    chw = ctx.chw(x)
    if len(full) == len(shape) and full[0] == 1 and all(a in (1, b) for a, b in zip(full[1:], shape[1:])):
        want = full[1:] + [1] * (4 - len(shape))
        if want == [chw[0], 1, 1]:
            return [chw[0]], float32(v).reshape(chw[0])
        target = ([1] if want[0] == 1 else [chw[0]]) + chw[1:]
        return target, float32(np.broadcast_to(v.reshape(want), target))
    raise ctx.fail(
        "a constant operand of shape %s broadcast to %s has no CoreML bias/scale layer (it takes constants "
        "with a batch of 1)" % (list(v.shape), shape)
    )


def with_const(node, ctx, mode, x, value, x_blob=None, out=None, suffix=""):
    """x (+ or *) a constant: the layer's alpha for a scalar, else a bias or scale layer."""
    shape, v = _const_weights(ctx, node, x, value)
    x_blob = ctx.feature(x) if x_blob is None else x_blob
    out = ctx.out(node) if out is None else out
    if shape == [1]:
        ctx.builder.add_elementwise(ctx.layer(node, suffix), [x_blob], out, mode, alpha=float(v[0]))
    elif mode == "ADD":
        ctx.builder.add_bias(ctx.layer(node, suffix), v, x_blob, out, shape_bias=shape)
    else:
        ctx.builder.add_scale(ctx.layer(node, suffix), v, None, False, x_blob, out, shape_scale=shape)
    return out


def _linear(node, ctx, x_blob, alpha, out, suffix=""):
    ctx.builder.add_activation(ctx.layer(node, suffix), "LINEAR", x_blob, out, params=[alpha, 0.0])
    return out


def _variadic(node, ctx, mode, patterns=("chw", "c11", "1hw", "111")):
    """One layer over the computed inputs, then the constant ones (at most one) as a bias/scale."""
    names = [n for n in node.inputs if n]
    computed = [n for n in names if ctx.const(n) is None]
    consts = [n for n in names if ctx.const(n) is not None]
    if len(consts) > 1 or not computed:
        raise ctx.fail("%s of %d constant operands" % (node.op_type, len(consts)))
    blobs = _blobs(node, ctx, computed, patterns)
    if not consts:
        if len(blobs) == 1:
            ctx.alias(node, computed[0])
            return
        ctx.builder.add_elementwise(ctx.layer(node), blobs, ctx.out(node), mode)
        return
    if len(blobs) == 1:
        with_const(node, ctx, mode, computed[0], ctx.const(consts[0]))
        return
    partial = ctx.temp(node, "partial")
    ctx.builder.add_elementwise(ctx.layer(node, "partial"), blobs, partial, mode)
    with_const(node, ctx, mode, node.outputs[0], ctx.const(consts[0]), x_blob=partial)


@EMIT.register("Add", "Sum")
def add(node, ctx):
    _variadic(node, ctx, "ADD")


@EMIT.register("Mul")
def mul(node, ctx):
    _variadic(node, ctx, "MULTIPLY")


@EMIT.register("Mean")
def mean(node, ctx):
    if any(ctx.const(n) is not None for n in node.inputs):
        raise ctx.fail("Mean of a constant operand has no CoreML average layer form")
    _variadic(node, ctx, "AVE")


def _max_min(node, ctx, mode):
    names = [n for n in node.inputs if n]
    consts = [n for n in names if ctx.const(n) is not None]
    computed = [n for n in names if ctx.const(n) is None]
    if not consts:
        blobs = _blobs(node, ctx, computed, ("chw", "c11"))
        if len(blobs) == 1:
            ctx.alias(node, computed[0])
        else:
            ctx.builder.add_elementwise(ctx.layer(node), blobs, ctx.out(node), mode)
        return
    value = np.asarray(ctx.const(consts[0]))
    if len(consts) > 1 or len(computed) != 1 or value.size != 1:
        raise ctx.fail("%s with a constant other than one scalar has no CoreML layer" % node.op_type)
    x, bound = ctx.feature(computed[0]), float(value.reshape(-1)[0])
    if mode == "MAX":
        ctx.builder.add_unary(ctx.layer(node), x, ctx.out(node), "threshold", alpha=bound)
        return
    neg = _linear(node, ctx, x, -1.0, ctx.temp(node, "neg"), "neg")
    ctx.builder.add_unary(ctx.layer(node, "max"), neg, ctx.temp(node, "neg_max"), "threshold", alpha=-bound)
    _linear(node, ctx, ctx.temp(node, "neg_max"), -1.0, ctx.out(node))


@EMIT.register("Max")
def max_(node, ctx):
    _max_min(node, ctx, "MAX")


@EMIT.register("Min")
def min_(node, ctx):
    _max_min(node, ctx, "MIN")


@EMIT.register("Sub")
def sub(node, ctx):
    a, b = node.inputs[0], node.inputs[1]
    ca, cb = ctx.const(a), ctx.const(b)
    if cb is not None:
        with_const(node, ctx, "ADD", a, -np.asarray(cb, np.float32))
        return
    if ca is None:
        _blobs(node, ctx, [a, b])
    negated = _linear(node, ctx, ctx.feature(b), -1.0, ctx.temp(node, "neg"), "neg")
    if ca is not None:
        with_const(node, ctx, "ADD", b, ca, x_blob=negated)
        return
    ctx.builder.add_elementwise(ctx.layer(node), [ctx.feature(a), negated], ctx.out(node), "ADD")


@EMIT.register("Div")
def div(node, ctx):
    """a / b: a times 1/b (a constant's reciprocal, or the unary POWER by -1 of a computed b)."""
    a, b = node.inputs[0], node.inputs[1]
    ca, cb = ctx.const(a), ctx.const(b)
    if cb is not None:
        with_const(node, ctx, "MULTIPLY", a, float32(1.0 / np.asarray(cb, np.float32)))
        return
    if ca is None:
        _blobs(node, ctx, [a, b])
    inverse = ctx.temp(node, "inverse")
    ctx.builder.add_unary(ctx.layer(node, "inverse"), ctx.feature(b), inverse, "power", alpha=-1.0)
    if ca is not None:
        with_const(node, ctx, "MULTIPLY", b, ca, x_blob=inverse)
        return
    ctx.builder.add_elementwise(ctx.layer(node), [ctx.feature(a), inverse], ctx.out(node), "MULTIPLY")


def _unary(node, ctx, mode, alpha=1.0):
    ctx.builder.add_unary(ctx.layer(node), ctx.feature(node.inputs[0]), ctx.out(node), mode, alpha=alpha)


@EMIT.register("Neg")
def neg(node, ctx):
    _linear(node, ctx, ctx.feature(node.inputs[0]), -1.0, ctx.out(node))


@EMIT.register("Abs")
def abs_(node, ctx):
    _unary(node, ctx, "abs")


@EMIT.register("Sqrt")
def sqrt(node, ctx):
    _unary(node, ctx, "sqrt")


@EMIT.register("Exp")
def exp(node, ctx):
    _unary(node, ctx, "exp")


@EMIT.register("Log")
def log(node, ctx):
    _unary(node, ctx, "log")


@EMIT.register("Reciprocal")
def reciprocal(node, ctx):
    _unary(node, ctx, "power", -1.0)


@EMIT.register("Pow")
def pow_(node, ctx):
    exponent = ctx.const(node.input(1))
    if exponent is None or np.asarray(exponent).size != 1:
        raise ctx.fail("Pow by a computed or non-scalar exponent has no CoreML NeuralNetwork layer")
    _unary(node, ctx, "power", float(np.asarray(exponent).reshape(-1)[0]))

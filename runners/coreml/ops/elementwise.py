"""Add, Sub, Mul, Div (by a constant) and Concat over channels.

Two activations: CoreML's elementwise layers (same shape, or each of C, H, W either 1 or equal).
One constant: a scalar becomes the layer's alpha, a per-channel or full [C, H, W] constant a bias or
scale layer.
"""

import numpy as np

from ..context import EMIT, float32


def _broadcastable(ctx, a, b):
    sa, sb = ctx.shape(a), ctx.shape(b)
    if sa is None or sb is None or len(sa) != len(sb):
        return False
    return all(x == y or x == 1 or y == 1 for x, y in zip(sa[1:], sb[1:])) and sa[0] == sb[0]


def _const_shape(ctx, x, value, node):
    """The CoreML shape of a constant operand: [1], [C] or [C, H, W] (for an [N, C, H, W] value)."""
    shape = ctx.shape(x)
    v = np.asarray(value)
    if v.size == 1:
        return [1], float32(v).reshape(1)
    rank = len(shape)
    full = [1] * (rank - v.ndim) + list(v.shape)
    if full[0] != 1:
        raise ctx.fail("a constant operand with a batch dimension has no CoreML equivalent")
    chw = full[1:] + [1] * (4 - rank) if rank == 2 else full[1:]
    c = shape[1]
    if chw[1:] == [1, 1] and chw[0] == c:
        return [c], float32(v).reshape(c)
    if rank == 4 and chw == list(shape[1:]):
        return list(chw), float32(v).reshape(chw)
    raise ctx.fail(
        "a constant operand of shape %s broadcast to %s has no CoreML bias/scale layer" % (list(v.shape), shape)
    )


def _split(node, ctx):
    a, b = node.input(0), node.input(1)
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is not None and cb is not None:
        raise ctx.fail("both operands are constants: fold them before converting")
    return a, b, ca, cb


def _two(node, ctx, mode, a, b):
    if not _broadcastable(ctx, a, b):
        raise ctx.fail("operands of shapes %s and %s do not broadcast in CoreML" % (ctx.shape(a), ctx.shape(b)))
    ctx.builder.add_elementwise(ctx.layer(node), [ctx.feature(a), ctx.feature(b)], ctx.out(node), mode)


def _with_const(node, ctx, mode, x, value, out=None):
    shape, v = _const_shape(ctx, x, value, node)
    out = out or ctx.out(node)
    if shape == [1]:
        ctx.builder.add_elementwise(ctx.layer(node), [ctx.feature(x)], out, mode, alpha=float(v[0]))
    elif mode == "ADD":
        ctx.builder.add_bias(ctx.layer(node), v, ctx.feature(x), out, shape_bias=shape)
    else:
        ctx.builder.add_scale(ctx.layer(node), v, None, False, ctx.feature(x), out, shape_scale=shape)


@EMIT.register("Add", since=14)
def add(node, ctx):
    a, b, ca, cb = _split(node, ctx)
    if ca is None and cb is None:
        _two(node, ctx, "ADD", a, b)
    else:
        _with_const(node, ctx, "ADD", b if cb is None else a, cb if cb is not None else ca)


@EMIT.register("Mul", since=14)
def mul(node, ctx):
    a, b, ca, cb = _split(node, ctx)
    if ca is None and cb is None:
        _two(node, ctx, "MULTIPLY", a, b)
    else:
        _with_const(node, ctx, "MULTIPLY", b if cb is None else a, cb if cb is not None else ca)


@EMIT.register("Sub", since=14)
def sub(node, ctx):
    a, b, ca, cb = _split(node, ctx)
    if cb is not None:
        _with_const(node, ctx, "ADD", a, -np.asarray(cb, np.float32))
        return
    negated = ctx.temp(node, "neg")
    ctx.builder.add_activation(ctx.layer(node, "neg"), "LINEAR", ctx.feature(b), negated, params=[-1.0, 0.0])
    if ca is not None:
        shape, v = _const_shape(ctx, b, ca, node)
        if shape == [1]:
            ctx.builder.add_elementwise(ctx.layer(node), [negated], ctx.out(node), "ADD", alpha=float(v[0]))
        else:
            ctx.builder.add_bias(ctx.layer(node), v, negated, ctx.out(node), shape_bias=shape)
        return
    ctx.shapes[negated] = ctx.shape(b)
    _two(node, ctx, "ADD", a, negated)


@EMIT.register("Div", since=14)
def div(node, ctx):
    a, b, ca, cb = _split(node, ctx)
    if cb is None:
        raise ctx.fail("division by a value computed at run time has no CoreML NeuralNetwork layer")
    _with_const(node, ctx, "MULTIPLY", a, float32(1.0 / np.asarray(cb, np.float32)))


@EMIT.register("Concat", since=13)
def concat(node, ctx, axis=1):
    rank = ctx.rank(node.inputs[0])
    if rank is None or axis % rank != 1:
        raise ctx.fail("concatenation over axis %d: CoreML's concat layer joins channels (axis 1)" % axis)
    if len(node.inputs) == 1:
        ctx.alias(node, node.inputs[0])
        return
    ctx.builder.add_elementwise(ctx.layer(node), [ctx.feature(i) for i in node.inputs], ctx.out(node), "CONCAT")

"""Arithmetic -> Eltwise (blobs brought to one shape by Tile), Power (a scalar constant), Scale /
Bias (a constant over consecutive axes, as Caffe broadcasts it)."""

import numpy as np

from ..emit import EMIT
from ._common import broadcast, broadcast_shape, eltwise, negate, power


def _scale_or_bias(ctx, x, shape, const, type_, top):
    """Scale/Bias holding `const` when it varies over consecutive axes of x's shape, else None."""
    if const.ndim > len(shape):
        return None
    full = [1] * (len(shape) - const.ndim) + list(const.shape)
    used = [i for i, d in enumerate(full) if d != 1] or [0]
    start, stop = used[0], used[-1] + 1
    if full[start:stop] != shape[start:stop]:
        return None
    layer = ctx.layer(type_, [x], [top])
    p = layer.scale_param if type_ == "Scale" else layer.bias_param
    p.axis, p.num_axes = start, stop - start
    ctx.add_blob(layer, const.reshape(full[start:stop]))
    return top


def _blobs(ctx, names):
    """The blobs of `names` (constants as Parameter layers), each brought to the broadcast shape."""
    shapes = [ctx.need_shape(n) for n in names]
    target = broadcast_shape(ctx, shapes)
    return [broadcast(ctx, ctx.blob(n), s, target) for n, s in zip(names, shapes)]


def _eltwise(node, ctx, operation, coeff=None):
    inputs = [v for v in node.inputs if v]
    if len(inputs) == 1 and not coeff:  # Sum or Max of one tensor is the tensor (Eltwise wants two)
        ctx.alias[node.outputs[0]] = ctx.blob(inputs[0])
        return
    eltwise(ctx, operation, _blobs(ctx, inputs), node.outputs[0], coeff)


def _binary(node, ctx):
    """(computed input, constant or None, constant first?)"""
    a, b = node.inputs[0], node.inputs[1]
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is not None and cb is None:
        return b, np.asarray(ca, dtype=np.float32), True
    return a, (None if cb is None else np.asarray(cb, dtype=np.float32)), False


def _with_const(node, ctx, x, const, power_field, type_):
    """x op const by Power (a scalar) or Scale/Bias (a constant Caffe broadcasts); True when done."""
    shape = ctx.need_shape(x)
    if broadcast_shape(ctx, [shape, list(const.shape)]) != shape:
        return False
    if const.size == 1:
        power(ctx, ctx.blob(x), node.outputs[0], **{power_field: const.reshape(-1)[0]})
        return True
    return _scale_or_bias(ctx, ctx.blob(x), shape, const, type_, node.outputs[0]) is not None


@EMIT.register("Add")
def add(node, ctx):
    x, c, _ = _binary(node, ctx)
    if c is None or not _with_const(node, ctx, x, c, "shift", "Bias"):
        _eltwise(node, ctx, "SUM")


@EMIT.register("Mul")
def mul(node, ctx):
    x, c, _ = _binary(node, ctx)
    if c is None or not _with_const(node, ctx, x, c, "scale", "Scale"):
        _eltwise(node, ctx, "PROD")


@EMIT.register("Sub")
def sub(node, ctx):
    x, c, first = _binary(node, ctx)
    if c is not None and c.size == 1 and first:
        power(ctx, ctx.blob(x), node.outputs[0], scale=-1.0, shift=c.reshape(-1)[0])
    elif c is None or first or not _with_const(node, ctx, x, -c, "shift", "Bias"):
        _eltwise(node, ctx, "SUM", [1.0, -1.0])


@EMIT.register("Div")
def div(node, ctx):
    """x / c as a Scale by 1 / c; x / y as x * y^-1. Caffe computes in floating point: an integer
    division, which truncates, is refused."""
    dtype = ctx.dtype(node.outputs[0])
    if dtype is not None and np.dtype(dtype).kind in "iu":
        raise ctx.fail("an integer division (%s); Caffe computes in floating point and would not truncate"
                       % np.dtype(dtype).name, reference="unsupported-attribute")  # fmt: skip
    x, c, first = _binary(node, ctx)
    if c is not None and not first and _with_const(node, ctx, x, (1.0 / c).astype(np.float32), "scale", "Scale"):
        return
    a, b = _blobs(ctx, node.inputs[:2])
    inverse = power(ctx, b, ctx.temp("inverse"), power=-1.0)
    eltwise(ctx, "PROD", [a, inverse], node.outputs[0])


@EMIT.register("Pow")
def pow_(node, ctx):
    e = ctx.const(node.inputs[1])
    if e is None or np.asarray(e).size != 1:
        raise ctx.fail("a power whose exponent is not one constant; Caffe's Power layer takes a fixed exponent")
    power(ctx, ctx.blob(node.inputs[0]), node.outputs[0], power=np.asarray(e).reshape(-1)[0])


@EMIT.register("Sqrt")
def sqrt(node, ctx):
    power(ctx, ctx.blob(node.inputs[0]), node.outputs[0], power=0.5)


@EMIT.register("Reciprocal")
def reciprocal(node, ctx):
    power(ctx, ctx.blob(node.inputs[0]), node.outputs[0], power=-1.0)


@EMIT.register("Neg")
def neg(node, ctx):
    power(ctx, ctx.blob(node.inputs[0]), node.outputs[0], scale=-1.0)


@EMIT.register("Sum")
def sum_(node, ctx):
    _eltwise(node, ctx, "SUM")


@EMIT.register("Max")
def max_(node, ctx):
    _eltwise(node, ctx, "MAX")


@EMIT.register("Min")
def min_(node, ctx):
    """-max(-a, -b, ...): negation is exact."""
    inputs = [v for v in node.inputs if v]
    if len(inputs) == 1:
        ctx.alias[node.outputs[0]] = ctx.blob(inputs[0])
        return
    negated = [negate(ctx, b) for b in _blobs(ctx, inputs)]
    power(ctx, eltwise(ctx, "MAX", negated, ctx.temp("max_negated")), node.outputs[0], scale=-1.0)

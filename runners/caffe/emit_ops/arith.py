"""Arithmetic -> Eltwise (same-shape blobs), Power (a scalar constant), Scale / Bias (a constant
over consecutive axes, as Caffe broadcasts it)."""

import numpy as np

from ..emit import EMIT


def _power(node, ctx, x, power=1.0, scale=1.0, shift=0.0):
    layer = ctx.layer("Power", [ctx.blob(x)], [node.outputs[0]])
    p = layer.power_param
    p.power, p.scale, p.shift = float(power), float(scale), float(shift)


def _axes_of(ctx, const, shape):
    """(axis, blob) for a constant Caffe's Scale/Bias can broadcast over `shape`, else None."""
    if const.ndim > len(shape):
        return None
    full = [1] * (len(shape) - const.ndim) + list(const.shape)
    used = [i for i, d in enumerate(full) if d != 1]
    start, stop = used[0], used[-1] + 1
    if full[start:stop] != shape[start:stop]:
        return None
    return start, const.reshape(full[start:stop])


def _scale_or_bias(node, ctx, x, const, type_):
    found = _axes_of(ctx, const, ctx.static_shape(x))
    if found is None:
        raise ctx.fail("broadcasting a constant of shape %s over %s" % (list(const.shape), ctx.static_shape(x)))
    axis, blob = found
    layer = ctx.layer(type_, [ctx.blob(x)], [node.outputs[0]])
    p = layer.scale_param if type_ == "Scale" else layer.bias_param
    p.axis, p.num_axes = axis, blob.ndim
    ctx.add_blob(layer, blob)


def _eltwise(node, ctx, operation, coeff=None):
    if len(node.inputs) == 1 and not coeff:  # Sum or Max of one tensor is the tensor (Eltwise wants two)
        ctx.alias[node.outputs[0]] = ctx.blob(node.inputs[0])
        return
    shapes = [ctx.static_shape(v) for v in node.inputs]
    if any(s != shapes[0] for s in shapes):
        raise ctx.fail("element-wise %s of shapes %s; Caffe's Eltwise needs equal shapes" % (node.op_type, shapes))
    layer = ctx.layer("Eltwise", [ctx.blob(v) for v in node.inputs], [node.outputs[0]])
    layer.eltwise_param.operation = getattr(layer.eltwise_param, operation)
    if coeff:
        layer.eltwise_param.coeff.extend(coeff)


def _binary(node, ctx):
    """(computed input, constant or None, constant first?)"""
    a, b = node.inputs[0], node.inputs[1]
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is not None and cb is None:
        return b, np.asarray(ca, dtype=np.float32), True
    return a, (None if cb is None else np.asarray(cb, dtype=np.float32)), False


def _commutative(node, ctx, operation, power_field, type_):
    """Eltwise of two blobs, Power with a scalar constant, Scale/Bias with a broadcast one."""
    x, c, _ = _binary(node, ctx)
    if c is None:
        _eltwise(node, ctx, operation)
    elif c.size == 1:
        _power(node, ctx, x, **{power_field: c.reshape(-1)[0]})
    else:
        _scale_or_bias(node, ctx, x, c, type_)


@EMIT.register("Add")
def add(node, ctx):
    _commutative(node, ctx, "SUM", "shift", "Bias")


@EMIT.register("Sub")
def sub(node, ctx):
    x, c, first = _binary(node, ctx)
    if c is None:
        _eltwise(node, ctx, "SUM", [1.0, -1.0])
    elif c.size == 1 and first:
        _power(node, ctx, x, scale=-1.0, shift=c.reshape(-1)[0])
    elif c.size == 1:
        _power(node, ctx, x, shift=-c.reshape(-1)[0])
    elif not first:
        _scale_or_bias(node, ctx, x, -c, "Bias")
    else:
        raise ctx.fail("a constant minus a tensor of another shape")


@EMIT.register("Mul")
def mul(node, ctx):
    _commutative(node, ctx, "PROD", "scale", "Scale")


@EMIT.register("Div")
def div(node, ctx):
    x, c, first = _binary(node, ctx)
    if c is None or first:
        raise ctx.fail("division by a computed tensor")
    if c.size == 1:
        _power(node, ctx, x, scale=1.0 / c.reshape(-1)[0])
    else:
        _scale_or_bias(node, ctx, x, (1.0 / c).astype(np.float32), "Scale")


@EMIT.register("Pow")
def pow_(node, ctx):
    e = ctx.const(node.inputs[1])
    if e is None or np.asarray(e).size != 1:
        raise ctx.fail("a power that is not one constant")
    _power(node, ctx, node.inputs[0], power=np.asarray(e).reshape(-1)[0])


@EMIT.register("Sqrt")
def sqrt(node, ctx):
    _power(node, ctx, node.inputs[0], power=0.5)


@EMIT.register("Reciprocal")
def reciprocal(node, ctx):
    _power(node, ctx, node.inputs[0], power=-1.0)


@EMIT.register("Neg")
def neg(node, ctx):
    _power(node, ctx, node.inputs[0], scale=-1.0)


@EMIT.register("Sum")
def sum_(node, ctx):
    _eltwise(node, ctx, "SUM")


@EMIT.register("Max")
def max_(node, ctx):
    _eltwise(node, ctx, "MAX")

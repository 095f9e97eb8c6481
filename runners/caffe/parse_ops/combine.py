"""Layers over several blobs: Eltwise (sum with coefficients, product, max), Concat, Slice, Split."""

import numpy as np

from ..parse import PARSE


@PARSE.register("Eltwise")
def eltwise(layer, ctx):
    p = layer.eltwise_param
    op = p.DESCRIPTOR.fields_by_name["operation"].enum_type.values_by_number[p.operation].name
    shape = ctx.shape(0)
    inputs = [ctx.bottom(i) for i in range(len(layer.bottom))]
    for i in range(len(inputs)):
        if ctx.shape(i) != shape:
            raise ctx.fail("invalid-model", "bottom %d has shape %s, bottom 0 %s" % (i, ctx.shape(i), shape))
    if op == "SUM":
        coeff = list(p.coeff)
        if coeff and len(coeff) != len(inputs):
            raise ctx.fail("invalid-model", "%d coefficients for %d bottoms" % (len(coeff), len(inputs)))
        for i, c in enumerate(coeff):
            if c != 1.0:
                weighted = ctx.temp("weighted%d" % i)
                ctx.node("Mul", [inputs[i], ctx.const("coeff%d" % i, float(c))], [weighted])
                inputs[i] = weighted
        ctx.node("Sum", inputs, [ctx.top(0)])
    elif op == "MAX":
        ctx.node("Max", inputs, [ctx.top(0)])
    else:  # PROD
        prev = inputs[0]
        for i in range(1, len(inputs)):
            out = ctx.top(0) if i == len(inputs) - 1 else ctx.temp("prod%d" % i)
            ctx.node("Mul", [prev, inputs[i]], [out])
            prev = out
    ctx.set_shape(0, shape)


def _axis(p, legacy, rank, default=1):
    if p.HasField(legacy):
        return int(getattr(p, legacy))
    axis = int(p.axis) if p.HasField("axis") else default
    return axis + rank if axis < 0 else axis


@PARSE.register("Concat")
def concat(layer, ctx):
    shapes = [ctx.shape(i) for i in range(len(layer.bottom))]
    axis = _axis(layer.concat_param, "concat_dim", len(shapes[0]))
    ctx.node("Concat", [ctx.bottom(i) for i in range(len(layer.bottom))], [ctx.top(0)], axis=axis)
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    ctx.set_shape(0, out)


@PARSE.register("Slice")
def slice_(layer, ctx):
    p = layer.slice_param
    shape = ctx.shape(0)
    axis = _axis(p, "slice_dim", len(shape))
    n, total = len(layer.top), shape[axis]
    points = [int(v) for v in p.slice_point]
    if points:
        if len(points) != n - 1:
            raise ctx.fail("invalid-model", "%d slice points for %d tops" % (len(points), n))
        bounds = [0] + points + [total]
        sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    else:
        if total % n:
            raise ctx.fail("invalid-model", "axis %d of size %d does not split into %d equal parts" % (axis, total, n))
        sizes = [total // n] * n
    if any(s <= 0 for s in sizes):
        raise ctx.fail("invalid-model", "slice points %s do not increase inside 0..%d" % (points, total))
    tops = [ctx.top(i) for i in range(n)]
    ctx.node("Split", [ctx.bottom(0), ctx.const("split", np.array(sizes), "int64")], tops, axis=axis)
    for i, s in enumerate(sizes):
        out = list(shape)
        out[axis] = s
        ctx.set_shape(i, out)


@PARSE.register("Split")
def split(layer, ctx):
    for i in range(len(layer.top)):
        ctx.node("Identity", [ctx.bottom(0)], [ctx.top(i)])
        ctx.set_shape(i, ctx.shape(0))

"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (8-bit): the formulas, with ONNX's
rounding of halves to even and saturation to the integer type's range."""

from ..codegen import EMIT
from .unary import round_half_even

_RANGE = {"uint8": (0, 255), "int8": (-128, 127)}


def _per_axis(ctx, node, i, rank, axis):
    """Input `i` (a scale or zero point: a scalar or one value per channel of `axis`) shaped to
    broadcast over the data."""
    name = node.input(i)
    shape = ctx.need_shape(name)
    if len(shape) == 1 and shape[0] > 1 and rank > 1:
        view = [1] * rank
        view[int(axis) % rank] = shape[0]
        return ctx.call("reshape", ctx.x(name), shape=tuple(view))
    return ctx.x(name)


def _as_float(ctx, expr):
    return ctx.call("cast", expr, dtype="float32")


@EMIT.register("QuantizeLinear")
def quantize_linear(node, ctx, axis=1, saturate=1):
    out = ctx.held_dtype(node.outputs[0])
    if out not in _RANGE:
        raise ctx.fail("QuantizeLinear to %s is not converted to MXNet" % out)
    rank = ctx.need_rank(node.input(0))
    scaled = ctx.temp(ctx.call("broadcast_div", _as_float(ctx, ctx.x(node.input(0))),
                               _per_axis(ctx, node, 1, rank, axis)), "scaled")  # fmt: skip
    q = ctx.temp(round_half_even(ctx, scaled), "rounded")
    if node.input(2):
        q = ctx.temp(ctx.call("broadcast_add", q, _as_float(ctx, _per_axis(ctx, node, 2, rank, axis))), "shifted")
    lo, hi = _RANGE[out]
    ctx.assign(node, ctx.call("cast", ctx.call("clip", q, a_min=float(lo), a_max=float(hi)), dtype=out))


@EMIT.register("DequantizeLinear")
def dequantize_linear(node, ctx, axis=1):
    rank = ctx.need_rank(node.input(0))
    x = _as_float(ctx, ctx.x(node.input(0)))
    if node.input(2):
        x = ctx.temp(ctx.call("broadcast_sub", x, _as_float(ctx, _per_axis(ctx, node, 2, rank, axis))), "centered")
    ctx.assign(node, ctx.call("broadcast_mul", x, _per_axis(ctx, node, 1, rank, axis)))


@EMIT.register("DynamicQuantizeLinear")
def dynamic_quantize_linear(node, ctx):
    """uint8 with the scale and zero point that map [min(x, 0), max(x, 0)] onto [0, 255]."""
    x = ctx.x(node.input(0))
    hi = ctx.temp(ctx.call("maximum", ctx.call("max", x), 0.0), "hi")
    lo = ctx.temp(ctx.call("minimum", ctx.call("min", x), 0.0), "lo")
    scale = ctx.temp("((%s - %s) / 255.0)" % (hi, lo), "scale")
    zp = ctx.temp(ctx.call("clip", round_half_even(ctx, ctx.call("broadcast_div", ctx.call("negative", lo), scale)),
                           a_min=0.0, a_max=255.0), "zp")  # fmt: skip
    q = ctx.temp(round_half_even(ctx, ctx.call("broadcast_div", x, scale)), "rounded")
    y = ctx.call("clip", ctx.call("broadcast_add", q, zp), a_min=0.0, a_max=255.0)
    ctx.assign(node, ctx.call("cast", y, dtype="uint8"))
    for k, expr in ((1, ctx.call("identity", scale)), (2, ctx.call("cast", zp, dtype="uint8"))):
        if len(node.outputs) > k and node.outputs[k]:
            ctx.assign(node, expr, output=node.outputs[k])

"""Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
ConvInteger, QLinearMatMul, QLinearConv, computed in torch's float and integer arithmetic (an
integer convolution in float64, exact for 8-bit operands: torch's CPU convolution takes no integers)."""

import numpy as np

from .. import functions
from ..codegen import EMIT, torch_dtype
from .conv import conv_window, functional_conv

_RANGE = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767)}


def _along(ctx, name, axis, rank):
    """A per-axis quantization parameter (1-D) shaped to broadcast along `axis`; a scalar as it is."""
    shape = ctx.shape(name)
    v = ctx.x(name)
    if not shape or len(shape) != 1 or rank is None or axis % rank == rank - 1:
        return v
    return "%s.reshape(%s)" % (v, ", ".join(["-1"] + ["1"] * (rank - 1 - axis % rank)))


def _quantized(ctx, expr, dtype, zero=None):
    """`expr` (float) rounded half to even, `zero` added (after the rounding, as ONNX's QuantizeLinear
    does), clamped into `dtype`'s range and cast."""
    name = np.dtype(dtype).name
    if name not in _RANGE:
        raise ctx.fail("quantizing to %s" % name)
    lo, hi = _RANGE[name]
    rounded = "torch.round(%s)%s" % (expr, " + %s" % zero if zero else "")
    return "torch.clamp(%s, %d, %d).to(%s)" % (rounded, lo, hi, torch_dtype(dtype))


@EMIT.register("QuantizeLinear")
def quantize_linear(node, ctx, axis=1, saturate=1):
    x, scale, zero = node.input(0), node.input(1), node.input(2)
    rank = ctx.rank(x)
    expr = "%s / %s" % (ctx.x(x), _along(ctx, scale, axis, rank))
    shift = _along(ctx, zero, axis, rank) if zero else None
    ctx.assign(node, _quantized(ctx, expr, ctx.dtype(zero) if zero else np.uint8, shift))


@EMIT.register("DequantizeLinear")
def dequantize_linear(node, ctx, axis=1):
    x, scale, zero = node.input(0), node.input(1), node.input(2)
    rank = ctx.rank(x)
    value = "%s.to(%s)" % (ctx.x(x), torch_dtype(ctx.dtype(scale)))
    if zero:
        value = "(%s - %s)" % (value, _along(ctx, zero, axis, rank))
    ctx.assign(node, "%s * %s" % (value, _along(ctx, scale, axis, rank)))


@EMIT.register("DynamicQuantizeLinear")
def dynamic_quantize_linear(node, ctx):
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.dynamic_quantize_linear), ctx.x(node.inputs[0])))


def _centered(ctx, name, zero, cast, row_axis=None):
    """`name` cast to `cast` with its zero point taken away (a 1-D zero point per row of
    `row_axis` is shaped to broadcast)."""
    v = "%s.%s()" % (ctx.x(name), cast)
    if not zero:
        return v
    z = "%s.%s()" % (ctx.x(zero), cast)
    shape = ctx.shape(zero)
    if row_axis is not None and shape and len(shape) == 1 and shape[0] != 1:
        z = "%s.reshape(%s)" % (z, ", ".join(["-1"] + ["1"] * row_axis))
    return "(%s - %s)" % (v, z)


@EMIT.register("MatMulInteger")
def matmul_integer(node, ctx):
    a = _centered(ctx, node.input(0), node.input(2), "int", row_axis=1)
    b = _centered(ctx, node.input(1), node.input(3), "int")
    ctx.assign(node, "torch.matmul(%s, %s)" % (a, b))


@EMIT.register("ConvInteger")
def conv_integer(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    src = _centered(ctx, node.input(0), node.input(2), "double")
    rank = ctx.need_rank(node.input(1))
    w = _centered(ctx, node.input(1), node.input(3), "double", row_axis=rank - 1)
    src, opts, n, _, _ = conv_window(node, ctx, src, auto_pad, dilations, group, kernel_shape, pads, strides)
    ctx.assign(node, "%s.to(torch.int32)" % functional_conv(n, src, w, "None", opts))


@EMIT.register("QLinearMatMul")
def qlinear_matmul(node, ctx):
    a = _centered(ctx, node.input(0), node.input(2), "int", row_axis=1)
    b = _centered(ctx, node.input(3), node.input(5), "int")
    scale = "(%s * %s / %s)" % (ctx.x(node.input(1)), ctx.x(node.input(4)), ctx.x(node.input(6)))
    expr = "torch.matmul(%s, %s).double() * %s + %s" % (a, b, scale, ctx.x(node.input(7)))
    ctx.assign(node, _quantized(ctx, expr, ctx.dtype(node.input(7))))


@EMIT.register("QLinearConv")
def qlinear_conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    src = _centered(ctx, node.input(0), node.input(2), "double")
    rank = ctx.need_rank(node.input(3))
    w = _centered(ctx, node.input(3), node.input(5), "double", row_axis=rank - 1)
    bias = "%s.double()" % ctx.x(node.input(8)) if node.input(8) else "None"
    src, opts, n, _, _ = conv_window(node, ctx, src, auto_pad, dilations, group, kernel_shape, pads, strides)
    w_scale = _along(ctx, node.input(4), 1, rank)
    scale = "(%s * %s / %s)" % (ctx.x(node.input(1)), w_scale, ctx.x(node.input(6)))
    expr = "%s * %s + %s" % (functional_conv(n, src, w, bias, opts), scale, ctx.x(node.input(7)))
    ctx.assign(node, _quantized(ctx, expr, ctx.dtype(node.input(7))))

"""Pooling with Caffe's output size: ceil mode (unless `ceil_mode: false`), and with padding the
last window must start inside the image. The IR gets explicit end pads that give exactly that size;
average pooling divides as Caffe does (by the window clipped to the padded image)."""

import math

import numpy as np

from ..parse import PARSE
from ._spatial import values


def output_size(size, kernel, stride, pad, ceil_mode):
    rounding = math.ceil if ceil_mode else math.floor
    out = int(rounding(float(size + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _average_clipped(ctx, x, kernel, stride, pad, end, sizes, out):
    """Caffe divides each window by its part inside the padded image [-pad, size + pad): zero-pad
    explicitly, average over whole windows, then rescale the windows Caffe clips."""
    padded = ctx.temp("padded")
    ctx.node("Pad", [x, ctx.const("pads", [0, 0] + pad + [0, 0] + end, "int64")], [padded])
    divisors = []
    for k, s, p, i, o in zip(kernel, stride, pad, sizes, out):
        starts = np.arange(o) * s - p
        divisors.append(np.minimum(starts + k, i + p) - starts)
    counts = divisors[0]
    for d in divisors[1:]:
        counts = np.multiply.outer(counts, d)
    correction = float(np.prod(kernel)) / counts
    if np.all(correction == 1.0):
        ctx.node("AveragePool", [padded], [ctx.top(0)], kernel_shape=kernel, strides=stride)
        return
    mean = ctx.temp("mean")
    ctx.node("AveragePool", [padded], [mean], kernel_shape=kernel, strides=stride)
    factor = ctx.const("clip_correction", correction.reshape([1, 1] + list(out)))
    ctx.node("Mul", [mean, factor], [ctx.top(0)])


@PARSE.register("Pooling")
def pooling(layer, ctx):
    p = layer.pooling_param
    shape = ctx.shape(0)
    n = len(shape) - 2
    method = p.DESCRIPTOR.fields_by_name["pool"].enum_type.values_by_number[p.pool].name
    if method == "STOCHASTIC":
        raise ctx.fail("unsupported-attribute", "stochastic pooling", hint="use MAX or AVE pooling")
    if p.global_pooling:
        ctx.node("GlobalMaxPool" if method == "MAX" else "GlobalAveragePool", [ctx.bottom(0)], [ctx.top(0)])
        ctx.set_shape(0, shape[:2] + [1] * n)
        return
    kernel = values(p, "kernel_size", n, 0)
    if any(k <= 0 for k in kernel):
        raise ctx.fail("invalid-model", "no kernel size", hint="set kernel_size or global_pooling in pooling_param")
    stride, pad = values(p, "stride", n, 1), values(p, "pad", n, 0)
    sizes = shape[2:]
    out = [output_size(i, k, s, pd, p.ceil_mode) for i, k, s, pd in zip(sizes, kernel, stride, pad)]
    end = [max((o - 1) * s + k - i - pd, 0) for o, s, k, i, pd in zip(out, stride, kernel, sizes, pad)]  # fmt: skip
    x = ctx.bottom(0)
    attrs = dict(kernel_shape=kernel, strides=stride)
    if method == "MAX":
        ctx.node("MaxPool", [x], [ctx.top(0)], pads=pad + end, **attrs)
    elif end == pad:  # every window inside the padded image: Caffe divides by the kernel size
        ctx.node("AveragePool", [x], [ctx.top(0)], pads=pad + end, count_include_pad=1, **attrs)
    else:
        _average_clipped(ctx, x, kernel, stride, pad, end, sizes, out)
    ctx.set_shape(0, shape[:2] + out)

"""SpatialMaxPooling and SpatialAveragePooling: Torch's output size (ceil_mode, and with padding the
last window starting inside the image: ONNX's rule for ceil_mode), count_include_pad (Torch's
default true) for averages."""

import math

from ..t7.parse import T7
from .conv import kernel_params


def _size(n, k, s, p, ceil):
    out = (math.ceil if ceil else math.floor)((n + 2 * p - k) / float(s)) + 1
    if ceil and p and (out - 1) * s >= n + p:
        out -= 1
    return int(out)


def _pool(m, ctx, x, op, **attrs):
    n, c, h, w = ctx.shape(x)
    kernel, strides, pads = kernel_params(ctx, m)
    ceil = bool(m.get("ceil_mode", False))
    out = [n, c, _size(h, kernel[0], strides[0], pads[0], ceil), _size(w, kernel[1], strides[1], pads[1], ceil)]
    return ctx.node(
        op,
        [x],
        ctx.layer_name("Pooling"),
        out,
        kernel_shape=kernel,
        strides=strides,
        pads=pads + pads,
        ceil_mode=int(ceil),
        **attrs,
    )


@T7.register("SpatialMaxPooling")
def spatial_max_pooling(m, ctx, x, path):
    return _pool(m, ctx, x, "MaxPool")


@T7.register("SpatialAveragePooling")
def spatial_average_pooling(m, ctx, x, path):
    if not m.get("divide", True):
        raise ctx.fail("unsupported-attribute", "divide=false (sum pooling): OpenCV's importer ignores it")
    return _pool(m, ctx, x, "AveragePool", count_include_pad=int(bool(m.get("count_include_pad", True))))

"""Convolution and Pooling."""

from ..parse import PARSE
from ._spatial import pads_and_crop, per_axis


@PARSE.register("Convolution")
def convolution(node, ctx):
    a = node.attrs
    if a.get("transpose"):
        raise ctx.fail("transposed convolution is not converted yet", "use a model without ConvolutionTranspose")
    w_name, x = node.inputs[0], node.inputs[1]
    w = ctx.const(w_name)
    if w is None:
        raise ctx.fail("the kernel is not a parameter or constant")
    n = w.ndim - 2
    sizes = ctx.shape(x)[-n:]
    kernels = list(w.shape[2:])
    strides = [int(s) for s in per_axis(a.get("strides"), n, 1)]
    dilations = [int(d) for d in per_axis(a.get("dilation"), n, 1)]
    auto = [bool(v) for v in per_axis(a.get("autoPadding"), n, False)]
    lower = per_axis(a.get("lowerPad"), n, 0)
    upper = per_axis(a.get("upperPad"), n, 0)
    x, pads = pads_and_crop(ctx, x, sizes, kernels, strides, dilations, auto, lower, upper)
    ctx.add(
        "Conv",
        [x, w_name],
        node.outputs,
        kernel_shape=kernels,
        strides=strides,
        dilations=dilations,
        pads=pads,
        group=int(a.get("groups", 1) or 1),
    )


@PARSE.register("Pooling")
def pooling(node, ctx):
    a = node.attrs
    x = node.inputs[0]
    shape = ctx.shape(x)
    window = list(a.get("poolingWindowShape", ()))
    n = min(len(window), len(shape) - 2) if window else len(shape) - 2
    sizes = shape[-n:]
    kernels = [int(k) for k in window[-n:]]
    strides = [int(s) for s in per_axis(a.get("strides"), n, 1)]
    auto = [bool(v) for v in per_axis(a.get("autoPadding"), n, False)]
    lower = per_axis(a.get("lowerPad"), n, 0)
    upper = per_axis(a.get("upperPad"), n, 0)
    kind = int(a.get("poolingType", 0))
    x, pads = pads_and_crop(ctx, x, sizes, kernels, strides, [1] * n, auto, lower, upper)
    ceil = 1 if a.get("ceilOutDim") else 0
    if kind == 0:
        ctx.add("MaxPool", [x], node.outputs, kernel_shape=kernels, strides=strides, pads=pads, ceil_mode=ceil)
    else:
        ctx.add(
            "AveragePool",
            [x],
            node.outputs,
            kernel_shape=kernels,
            strides=strides,
            pads=pads,
            ceil_mode=ceil,
            count_include_pad=1 if a.get("includePad") else 0,
        )

"""Convolution and Pooling."""

from ..parse import PARSE
from ._spatial import pads_and_crop, per_axis


@PARSE.register("Convolution")
def convolution(node, ctx):
    a = node.attrs
    if a.get("transpose"):
        _convolution_transpose(node, ctx)
        return
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


def _convolution_transpose(node, ctx):
    """ConvolutionTranspose without padding: the full transposed convolution, an outputShape larger
    than it adding rows of zeros at the end (ONNX's output_padding)."""
    a = node.attrs
    w_name, x = node.inputs[0], node.inputs[1]
    w = ctx.const(w_name)
    if w is None:
        raise ctx.fail("the kernel is not a parameter or constant")
    n = w.ndim - 2
    if (
        any(per_axis(a.get("autoPadding"), n, False))
        or any(per_axis(a.get("lowerPad"), n, 0))
        or any(per_axis(a.get("upperPad"), n, 0))
    ):
        raise ctx.fail("a padded ConvolutionTranspose is not converted", "use auto_padding=False and no pads")
    sizes = ctx.shape(x)[-n:]
    kernels = list(w.shape[2:])
    strides = [int(s) for s in per_axis(a.get("strides"), n, 1)]
    dilations = [int(d) for d in per_axis(a.get("dilation"), n, 1)]
    full = [(i - 1) * s + (k - 1) * d + 1 for i, s, k, d in zip(sizes, strides, kernels, dilations)]
    wanted = [int(v) for v in (a.get("outputShape") or ())][-n:]
    extra = [o - f for o, f in zip(wanted, full)] if len(wanted) == n and all(wanted) else [0] * n
    if any(e < 0 or e >= s for e, s in zip(extra, strides)):
        raise ctx.fail("a ConvolutionTranspose outputShape %s for a full output %s" % (wanted, full))
    ctx.add(
        "ConvTranspose",
        [x, w_name],
        node.outputs,
        kernel_shape=kernels,
        strides=strides,
        dilations=dilations,
        output_padding=extra if any(extra) else None,
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

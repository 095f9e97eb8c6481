"""Padding arithmetic shared by convolution and pooling converters."""

from runners.common.codegen import explicit_pads


def window(ctx, x, kernel_shape, strides, dilations, pads, auto_pad):
    """(kernel, strides, dilations, [top, left, bottom, right]) of a 2-D window op."""
    if kernel_shape is None or len(kernel_shape) != 2:
        raise ctx.fail(
            "only 2-D windows map to CoreML layers (kernel %s)" % (list(kernel_shape or []),),
            hint="CoreML's NeuralNetwork layers are 2-D; 1-D and 3-D windows are not converted",
        )
    kernel = list(kernel_shape)
    strides = list(strides or [1, 1])
    dilations = list(dilations or [1, 1])
    return kernel, strides, dilations, explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad)

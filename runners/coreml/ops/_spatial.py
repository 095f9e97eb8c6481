"""Padding arithmetic shared by convolution and pooling converters."""


def explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads [top, left, bottom, right] for a 2-D window, with auto_pad resolved."""
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("NOTSET", "", None):
        return list(pads or [0, 0, 0, 0])
    if auto_pad == "VALID":
        return [0, 0, 0, 0]
    shape = ctx.shape(x)
    if shape is None or any(d is None for d in shape[2:]):
        raise ctx.fail("auto_pad %s needs the input's spatial size" % auto_pad, hint="give --inputShape")
    begins, ends = [], []
    for size, k, s, d in zip(shape[2:], kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        if auto_pad == "SAME_UPPER":
            begins.append(small)
            ends.append(large)
        else:
            begins.append(large)
            ends.append(small)
    return begins + ends


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

"""Padding arithmetic shared by convolution and pooling converters."""


def explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads (begins + ends) with auto_pad resolved from the input shape."""
    n = len(kernel)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        shape = ctx.need_shape(x)[2:]
        begins, ends = [], []
        for i in range(n):
            out = -(-shape[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - shape[i])
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        return begins, ends
    if auto_pad == "VALID" or not pads:
        return [0] * n, [0] * n
    return list(pads[:n]), list(pads[n:])


def pad_input(ctx, src, begins, ends, value=0.0):
    """`F.pad` of a 4-D or 5-D input (MXNet pads only those) by begins/ends on the spatial axes."""
    rank = 2 + len(begins)
    if rank not in (4, 5):
        raise ctx.fail("asymmetric padding of a %d-D tensor has no MXNet operator" % rank)
    width = [0, 0, 0, 0]
    for b, e in zip(begins, ends):
        width += [b, e]
    return ctx.temp(ctx.call("pad", src, mode="constant", pad_width=tuple(width), constant_value=value), "padded")

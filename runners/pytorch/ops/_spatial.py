"""Padding arithmetic shared by convolutions and pools (no converters here)."""


def explicit_pads(node, ctx, x, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads (begins + ends) for a sliding-window op, resolving auto_pad."""
    n = len(kernel)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    if auto_pad in ("", "NOTSET"):
        return list(pads or [0] * (2 * n))
    if auto_pad == "VALID":
        return [0] * (2 * n)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.fail("auto_pad=%s is not an ONNX value" % auto_pad)
    begins, ends = [], []
    for i in range(n):
        eff = (kernel[i] - 1) * dilations[i] + 1
        if strides[i] == 1:
            total = eff - 1
        else:
            shape = ctx.need_shape(node, x)
            size = shape[2 + i]
            out = -(-size // strides[i])
            total = max(0, (out - 1) * strides[i] + eff - size)
        small, big = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else big)
        ends.append(big if auto_pad == "SAME_UPPER" else small)
    return begins + ends


def split_pads(pads):
    n = len(pads) // 2
    return list(pads[:n]), list(pads[n:])


def torch_pad_list(begins, ends):
    """F.pad order: last dimension first, (begin, end) pairs."""
    out = []
    for b, e in reversed(list(zip(begins, ends))):
        out += [int(b), int(e)]
    return out


def kwargs(**items):
    """`a=1, b=(1, 2)` for the items that are not None."""
    return ", ".join("%s=%s" % (k, v) for k, v in items.items() if v is not None)

"""CNTK's automatic padding, used to read it (Parse) and to choose it when it fits (Emit)."""


def auto_pads(size, kernel, stride, dilation=1):
    """CNTK's automatic padding along one axis (measured on CNTK 2.7): ceil(size/stride) outputs,
    the kernel centre ((k-1)//2) on input 0 moved right by ((size-1) % stride)//2. Returns
    (lower, upper), either possibly negative (input cropped). TensorFlow/ONNX SAME_UPPER differs:
    on an even input with stride 2 and an odd kernel CNTK pads the lower side."""
    k = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    lower = (k - 1) // 2 - ((size - 1) % stride) // 2
    upper = (out - 1) * stride + k - size - lower
    return lower, upper


def padding_plan(sizes, kernels, strides, dilations, begins, ends):
    """How CNTK gets ONNX pads: ("auto", None) when they are CNTK's automatic padding on every
    axis, ("none", None) when zero, else ("explicit", [(begin, end), ...]) for C.pad first."""
    if not any(begins) and not any(ends):
        return "none", None
    auto = [auto_pads(sizes[i], kernels[i], strides[i], dilations[i]) for i in range(len(sizes))]
    # CNTK refuses automatic padding where the kernel is larger than the input
    fits = all((k - 1) * d + 1 <= n for n, k, d in zip(sizes, kernels, dilations))
    if fits and all(a == (b, e) for a, b, e in zip(auto, begins, ends)):
        return "auto", None
    return "explicit", list(zip(begins, ends))

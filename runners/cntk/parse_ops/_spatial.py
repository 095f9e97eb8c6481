"""Padding and window geometry shared by Convolution and Pooling."""

from ..padding import auto_pads


def per_axis(values, count, default):
    """A CNTK per-axis attribute (Python order, maybe with the channel axis first, maybe one value
    for all axes) -> `count` values for the spatial axes."""
    if values is None:
        return [default] * count
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    if not values:
        return [default] * count
    if len(values) == 1:
        return values * count
    return values[-count:] if len(values) >= count else [values[0]] * (count - len(values)) + values


def pads_and_crop(ctx, x, sizes, kernels, strides, dilations, auto, lower, upper):
    """(input value, ONNX pads) with negative pads done as a Slice of the input."""
    n = len(sizes)
    lo, hi = [], []
    for i in range(n):
        if auto[i]:
            a, b = auto_pads(sizes[i], kernels[i], strides[i], dilations[i])
        else:
            a, b = int(lower[i]), int(upper[i])
        lo.append(a)
        hi.append(b)
    if any(v < 0 for v in lo + hi):
        rank = len(ctx.shape(x))
        axes = list(range(rank - n, rank))
        starts = [max(0, -a) for a in lo]
        ends = [sizes[i] - max(0, -hi[i]) for i in range(n)]
        shape = ctx.shape(x)[: rank - n] + [e - s for s, e in zip(starts, ends)]
        x = ctx.add(
            "Slice", [x, ctx.ints("starts", starts), ctx.ints("ends", ends), ctx.ints("axes", axes)], shape=shape
        )
        lo = [max(0, a) for a in lo]
        hi = [max(0, b) for b in hi]
    return x, lo + hi

"""Padding arithmetic shared by convolutions and pools (no converters here)."""

from ..codegen import channels_last, lit


def tf_same_pads(size, kernel, stride, dilation=1):
    """(begin, end) TensorFlow's padding='same' uses on one spatial axis."""
    eff = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + eff - size)
    return total // 2, total - total // 2


def is_tf_same(ctx, x, kernel, strides, dilations, begins, ends):
    shape = ctx.shape(x)
    if shape is None or any(d is None for d in shape[2:]):
        return False
    return all(
        tf_same_pads(shape[2 + i], kernel[i], strides[i], dilations[i]) == (begins[i], ends[i])
        for i in range(len(kernel))
    )


def ceil_extra(ctx, x, kernel, strides, dilations, begins, ends):
    """Extra end padding that makes floor-mode windows cover what ceil_mode covers."""
    shape = ctx.need_shape(x)
    extra = []
    for i in range(len(kernel)):
        eff = (kernel[i] - 1) * dilations[i] + 1
        size = shape[2 + i] + begins[i] + ends[i]
        out_ceil = -(-(size - eff) // strides[i]) + 1
        if (out_ceil - 1) * strides[i] >= shape[2 + i] + begins[i]:  # last window would start in the padding
            out_ceil -= 1
        out_floor = (size - eff) // strides[i] + 1
        extra.append(max(0, (out_ceil - out_floor) * strides[i]))
    return extra


def zero_pad(node, ctx, var, begins, ends, hint):
    """`layers.ZeroPaddingND` on a channels-last variable; returns the new variable."""
    n = len(begins)
    if not any(begins) and not any(ends):
        return var
    spec = lit(tuple((int(b), int(e)) for b, e in zip(begins, ends)))
    name = ctx.layer_name(hint)
    out = ctx.new_var(name)
    ctx.lines.append("%s = layers.ZeroPadding%dD(%s, name=%r)(%s)" % (out, n, spec, name, var))
    return out


def value_pad(ctx, var, begins, ends, value, hint):
    """keras.ops.pad with a constant (e.g. -inf before max pooling) on a channels-last variable."""
    if not any(begins) and not any(ends):
        return var
    widths = [[0, 0]] + [[int(b), int(e)] for b, e in zip(begins, ends)] + [[0, 0]]
    out = ctx.new_var(hint)
    ctx.lines.append("%s = keras.ops.pad(%s, %s, constant_values=%s)" % (out, var, lit(widths), lit(value)))
    return out


__all__ = ["tf_same_pads", "is_tf_same", "ceil_extra", "zero_pad", "value_pad", "channels_last"]

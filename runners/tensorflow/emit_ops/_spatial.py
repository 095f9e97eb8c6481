"""Padding and cropping of channels-last tensors, shared by convolutions and pools (no converters
here). The pads themselves come from runners/common/specs.py."""

from ..codegen import lit


def _per_axis(begins, ends):
    """ZeroPaddingND / CroppingND's argument: (b, e) for one axis, ((b, e), ...) for several."""
    pairs = tuple((int(b), int(e)) for b, e in zip(begins, ends))
    return lit(pairs[0] if len(pairs) == 1 else pairs)


def zero_pad(ctx, var, begins, ends, hint):
    """`layers.ZeroPaddingND` on a channels-last variable; returns the new variable."""
    if not any(begins) and not any(ends):
        return var
    return ctx.layer_var("layers.ZeroPadding%dD(%s)" % (len(begins), _per_axis(begins, ends)), [var], hint)


def crop(ctx, var, begins, ends, hint):
    """`layers.CroppingND` on a channels-last variable; returns the new variable."""
    if not any(begins) and not any(ends):
        return var
    return ctx.layer_var("layers.Cropping%dD(%s)" % (len(begins), _per_axis(begins, ends)), [var], hint)


def value_pad(ctx, var, begins, ends, value, hint):
    """keras.ops.pad with a constant (e.g. -inf before max pooling) on a channels-last variable."""
    if not any(begins) and not any(ends):
        return var
    widths = [[0, 0]] + [[int(b), int(e)] for b, e in zip(begins, ends)] + [[0, 0]]
    return ctx.temp("keras.ops.pad(%s, %s, constant_values=%s)" % (var, lit(widths), lit(value)), hint)


def window_taps(ctx, var, spec, hint):
    """The cells each window of `spec` reads, as one strided slice per kernel tap of a padded
    channels-last variable: windows whose taps are not adjacent (dilations), which Keras pooling
    layers do not have. Returns the variables of the slices."""
    import itertools

    out_spatial = spec.out_spatial()
    taps = []
    for offsets in itertools.product(*[range(k) for k in spec.kernel]):
        per_axis = []
        for i, o in enumerate(offsets):
            start = o * spec.dilations[i]
            stop = start + (out_spatial[i] - 1) * spec.strides[i] + 1
            per_axis.append("%d:%d%s" % (start, stop, "" if spec.strides[i] == 1 else ":%d" % spec.strides[i]))
        taps.append(ctx.temp("%s[:, %s, :]" % (var, ", ".join(per_axis)), hint + "_tap"))
    return taps

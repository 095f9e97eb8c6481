"""Padding arithmetic shared by convolution and pooling converters."""


def pad_input(ctx, src, begins, ends, value=0.0):
    """`F.pad` of a 4-D or 5-D input (MXNet pads only those) by begins/ends on the spatial axes."""
    rank = 2 + len(begins)
    if rank not in (4, 5):
        raise ctx.fail("asymmetric padding of a %d-D tensor has no MXNet operator" % rank)
    width = [0, 0, 0, 0]
    for b, e in zip(begins, ends):
        width += [b, e]
    return ctx.temp(ctx.call("pad", src, mode="constant", pad_width=tuple(width), constant_value=value), "padded")

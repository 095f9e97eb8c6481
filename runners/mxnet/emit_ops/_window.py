"""Padding and window slicing shared by the convolution and pooling converters (MXNet pads only
4-D and 5-D tensors, on their trailing axes)."""


def pad_spatial(ctx, src, rank, begins, ends, value=0.0):
    """`src` (rank 3, 4 or 5, N C spatial...) padded by begins/ends on its spatial axes."""
    if not any(begins) and not any(ends):
        return src
    if rank == 3:  # N C L -> N C 1 L, padded, and back
        wide = ctx.temp(ctx.call("expand_dims", src, axis=2), "wide")
        padded = ctx.temp(ctx.call("pad", wide, mode="constant", pad_width=(0, 0, 0, 0, 0, 0, begins[0], ends[0]),
                                   constant_value=float(value)), "padded")  # fmt: skip
        return ctx.temp(ctx.call("reshape", padded, shape=(0, 0, -1)), "padded")
    if rank not in (4, 5):
        raise ctx.fail("MXNet pads 3-D to 5-D tensors only, not %d-D" % rank)
    width = [0, 0, 0, 0]
    for b, e in zip(begins, ends):
        width += [int(b), int(e)]
    return ctx.temp(ctx.call("pad", src, mode="constant", pad_width=tuple(width), constant_value=float(value)),
                    "padded")  # fmt: skip


def crop_spatial(ctx, src, rank, begins, sizes):
    """`src` cut to `sizes` from `begins` on its spatial axes (None where nothing is cut)."""
    if all(s is None for s in sizes):
        return src
    lo = [None, None] + [b if s is not None else None for b, s in zip(begins, sizes)]
    hi = [None, None] + [b + s if s is not None else None for b, s in zip(begins, sizes)]
    return ctx.temp(ctx.call("slice", src, begin=tuple(lo), end=tuple(hi)), "crop")

"""MIL upsampling and bilinear resizing -> IR Resize, where ONNX has the same sampling grid.

MIL's bilinear ops take the grid's spacing from the input and output sizes, so they become a
Resize with `sizes` (or with integer `scales`, the same grid); nearest upsampling by integer
factors is a repeat of every pixel, Resize nearest with asymmetric coordinates and floor."""

import numpy as np

from ..common import FROM_MIL

SAMPLING = {"STRICT_ALIGN_CORNERS": "align_corners", "UNALIGN_CORNERS": "half_pixel", "DEFAULT": "asymmetric"}


def _spatial(op, ctx):
    """(input shape, output shape): static, rank >= 3."""
    shape, out = list(op.inputs["x"].shape), list(op.outputs[0].shape)
    if any(not isinstance(d, (int, np.integer)) for d in shape + out) or len(shape) < 3:
        raise ctx.fail("%s of a tensor with unknown shape is not translated" % op.op_type)
    return [int(d) for d in shape], [int(d) for d in out]


def _factor(op, ctx, key):
    """An integer scale factor, or None when it is fractional."""
    value = float(np.asarray(ctx.val(op, key, 1)).reshape(-1)[0])
    return int(value) if value == int(value) and value >= 1 else None


def _resize(op, ctx, shape, out, factors, **attrs):
    name = ctx.out(op)
    inputs = [ctx.input(op, "x"), ""]
    if factors:
        scales = [1.0] * (len(shape) - 2) + [float(f) for f in factors]
        inputs.append(ctx.const(name + "__scales", np.array(scales, np.float32)))
    else:
        inputs += ["", ctx.const(name + "__sizes", np.array(out, np.int64))]
    ctx.node("Resize", inputs, [name], **attrs)


def _bilinear(op, ctx, ctm, factors=None):
    shape, out = _spatial(op, ctx)
    if ctm != "half_pixel" and any(o == 1 and i != 1 for i, o in zip(shape[-2:], out[-2:])):
        raise ctx.fail("%s to a size of 1 (%s -> %s) is not translated" % (op.op_type, shape[-2:], out[-2:]))
    _resize(op, ctx, shape, out, factors, mode="linear", coordinate_transformation_mode=ctm)


@FROM_MIL.register("upsample_nearest_neighbor")
def upsample_nearest_neighbor(op, ctx):
    shape, out = _spatial(op, ctx)
    factors = [_factor(op, ctx, "scale_factor_height"), _factor(op, ctx, "scale_factor_width")]
    if None in factors:
        raise ctx.fail(
            "nearest upsampling by fractional factors (%s, %s) is not translated"
            % (ctx.val(op, "scale_factor_height"), ctx.val(op, "scale_factor_width"))
        )
    attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    _resize(op, ctx, shape, out, factors, **attrs)


@FROM_MIL.register("upsample_bilinear")
def upsample_bilinear(op, ctx):
    """align_corners (default True) or half-pixel centres; iOS 16's half_pixel_centers must be the
    other one of the pair (its default)."""
    align = bool(ctx.val(op, "align_corners", True))
    half = ctx.val(op, "half_pixel_centers")
    if half is not None and bool(half) == align:
        pair = (align, bool(half))
        raise ctx.fail("upsample_bilinear with align_corners %s and half_pixel_centers %s is not translated" % pair)
    factors = [_factor(op, ctx, "scale_factor_height"), _factor(op, ctx, "scale_factor_width")]
    _bilinear(op, ctx, "align_corners" if align else "half_pixel", None if None in factors else factors)


@FROM_MIL.register("resize_bilinear")
def resize_bilinear(op, ctx):
    """STRICT_ALIGN_CORNERS, UNALIGN_CORNERS and DEFAULT have ONNX grids; ALIGN_CORNERS too except
    for an output of size 1; OFFSET_CORNERS has none."""
    mode = str(ctx.val(op, "sampling_mode", "DEFAULT"))
    if mode == "ALIGN_CORNERS":
        mode = "STRICT_ALIGN_CORNERS"  # the same grid; size 1, where they differ, is refused below
    if mode not in SAMPLING:
        raise ctx.fail("resize_bilinear with sampling_mode %s is not translated" % mode)
    _bilinear(op, ctx, SAMPLING[mode])

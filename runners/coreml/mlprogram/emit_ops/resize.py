"""Resize as MIL upsample_nearest_neighbor, upsample_bilinear or resize_bilinear.

Only the forms whose sampling grid MIL defines the same way are converted:

- nearest by integer factors, where ONNX's grid is a plain repeat of every pixel: asymmetric
  coordinates with nearest_mode floor (torch's nn.Upsample(mode="nearest")), or half_pixel /
  pytorch_half_pixel with round_prefer_floor / round_prefer_ceil;
- linear with align_corners (MIL STRICT_ALIGN_CORNERS), half_pixel or pytorch_half_pixel (MIL
  UNALIGN_CORNERS) or asymmetric (MIL DEFAULT). MIL derives the grid's spacing from the input
  and output sizes, so the ONNX scale must be output / input exactly (always so with `sizes`).
  Integer factors with align_corners or a half-pixel mode become upsample_bilinear, the rest
  resize_bilinear to the output size.

Anything else (cubic, antialias, tf_crop_and_resize, fractional nearest, an output of one pixel
where MIL's spacing is undefined) is refused with the node named."""

from runners.common.specs import REPEAT_NEAREST, ResizeSpec

from ..common import TO_MIL

SAMPLING = {
    "align_corners": "STRICT_ALIGN_CORNERS",
    "half_pixel": "UNALIGN_CORNERS",
    "pytorch_half_pixel": "UNALIGN_CORNERS",
    "asymmetric": "DEFAULT",
}
HINT = "re-export the model with nearest or bilinear upsampling (e.g. torch's nn.Upsample by an integer factor)"
CONVERTED = (
    "converted: nearest by integer factors with asymmetric/floor or half_pixel/round_prefer_*, "
    "linear with align_corners, half_pixel, pytorch_half_pixel or asymmetric"
)


@TO_MIL.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    from coremltools.converters.mil import Builder as mb

    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    mode, ctm, what = spec.mode, spec.ctm, spec.describe()
    if mode not in ("nearest", "linear"):
        raise ctx.fail("%s is not converted to an ML Program (%s)" % (what, CONVERTED), hint=HINT)
    if antialias:
        raise ctx.fail("Resize with antialias is not converted to an ML Program")
    if (mode == "nearest" and (ctm, spec.nearest_mode) not in REPEAT_NEAREST) or (
        mode == "linear" and ctm not in SAMPLING
    ):
        raise ctx.fail("%s is not converted to an ML Program (%s)" % (what, CONVERTED), hint=HINT)
    if spec.rank < 3:
        raise ctx.fail("Resize of a rank-%d tensor is not converted (MIL resizes the last two axes)" % spec.rank)
    shape, out, scale = spec.in_shape, spec.out_shape, spec.scales
    if out[:-2] != shape[:-2]:
        raise ctx.fail("Resize %s -> %s changes an axis other than the last two" % (shape, out))
    (h, w), (oh, ow) = shape[-2:], out[-2:]
    integer = all(o % i == 0 and o // i >= 1 and float(o // i) == s for i, o, s in zip((h, w), (oh, ow), scale[-2:]))
    x = ctx.var(node.inputs[0])
    if mode == "nearest":
        if not integer:
            raise ctx.fail(
                "%s by %s (%s -> %s) is not converted: MIL's nearest upsampling is by integer factors"
                % (what, scale[-2:], [h, w], [oh, ow]),
                hint=HINT,
            )
        y = mb.upsample_nearest_neighbor(
            x=x, scale_factor_height=oh // h, scale_factor_width=ow // w, name=ctx.out(node)
        )
        ctx.set(node, y)
        return
    if any(float(o) / i != s for i, o, s in zip((h, w), (oh, ow), scale[-2:])) and ctm != "align_corners":
        raise ctx.fail(
            "%s by %s is not converted: %s -> %s is a different scale, and MIL takes the scale from the sizes"
            % (what, scale[-2:], [h, w], [oh, ow]),
            hint="give the Resize its output sizes instead of scales",
        )
    if any(o == 1 and i != 1 for i, o in zip((h, w), (oh, ow))) and ctm != "half_pixel":
        raise ctx.fail("%s to a size of 1 (%s -> %s) is not converted" % (what, [h, w], [oh, ow]))
    if integer and ctm != "asymmetric":
        y = mb.upsample_bilinear(
            x=x,
            scale_factor_height=oh // h,
            scale_factor_width=ow // w,
            align_corners=ctm == "align_corners",
            name=ctx.out(node),
        )
    else:
        y = mb.resize_bilinear(
            x=x, target_size_height=oh, target_size_width=ow, sampling_mode=SAMPLING[ctm], name=ctx.out(node)
        )
    ctx.set(node, y)

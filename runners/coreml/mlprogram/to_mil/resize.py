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

import math

import numpy as np

from ..common import TO_MIL

REPEAT_NEAREST = {
    ("asymmetric", "floor"),
    ("half_pixel", "round_prefer_floor"),
    ("half_pixel", "round_prefer_ceil"),
    ("pytorch_half_pixel", "round_prefer_floor"),
    ("pytorch_half_pixel", "round_prefer_ceil"),
}
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


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _sizes(node, ctx, rank, axes, keep_aspect_ratio_policy):
    """(input sizes, output sizes, ONNX scales) over every axis."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    axes = [int(a) % rank for a in axes] if axes is not None else list(range(rank))
    scales = sizes = None
    if node.input(2):
        scales = ctx.const(node.input(2))
        if scales is None:
            raise ctx.fail("Resize scales computed at run time are not converted; they must be constants")
    if node.input(3):
        sizes = ctx.const(node.input(3))
        if sizes is None:
            raise ctx.fail("Resize sizes computed at run time are not converted; they must be constants")
    scales = scales if scales is not None and scales.size else None
    sizes = sizes if sizes is not None and sizes.size else None
    out, scale = list(shape), [1.0] * rank
    if sizes is not None:
        if keep_aspect_ratio_policy != "stretch":
            raise ctx.fail("Resize with keep_aspect_ratio_policy %s is not converted" % keep_aspect_ratio_policy)
        for a, s in zip(axes, sizes.reshape(-1)):
            out[a] = int(s)
            scale[a] = float(s) / shape[a]
    elif scales is not None:
        for a, s in zip(axes, scales.reshape(-1)):
            scale[a] = float(np.float32(s))
            out[a] = int(math.floor(shape[a] * scale[a]))
    else:
        raise ctx.fail("Resize without scales or sizes")
    want = ctx.shape(node.outputs[0])
    if want and all(d is not None and d >= 0 for d in want) and [int(d) for d in want] != out:
        raise ctx.fail("Resize output %s differs from the IR's shape %s" % (out, list(want)))
    return shape, out, scale


@TO_MIL.register("Resize", since=18)
def resize(
    node,
    ctx,
    antialias=0,
    axes=None,
    coordinate_transformation_mode="half_pixel",
    cubic_coeff_a=-0.75,
    exclude_outside=0,
    extrapolation_value=0.0,
    keep_aspect_ratio_policy="stretch",
    mode="nearest",
    nearest_mode="round_prefer_floor",
):
    from coremltools.converters.mil import Builder as mb

    mode, ctm = _text(mode), _text(coordinate_transformation_mode)
    nearest_mode = _text(nearest_mode)
    what = "Resize mode %s with coordinate_transformation_mode %s%s" % (
        mode,
        ctm,
        " and nearest_mode %s" % nearest_mode if mode == "nearest" else "",
    )
    if mode not in ("nearest", "linear"):
        raise ctx.fail("%s is not converted to an ML Program (%s)" % (what, CONVERTED), hint=HINT)
    if antialias:
        raise ctx.fail("Resize with antialias is not converted to an ML Program")
    if (mode == "nearest" and (ctm, nearest_mode) not in REPEAT_NEAREST) or (mode == "linear" and ctm not in SAMPLING):
        raise ctx.fail("%s is not converted to an ML Program (%s)" % (what, CONVERTED), hint=HINT)
    rank = len(ctx.need_shape(node.inputs[0]))
    if rank < 3:
        raise ctx.fail("Resize of a rank-%d tensor is not converted (MIL resizes the last two axes)" % rank)
    shape, out, scale = _sizes(node, ctx, rank, axes, _text(keep_aspect_ratio_policy))
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

"""Pad (H and W) and Resize: the upsample layer (nearest that repeats pixels, bilinear by integer
factors) and the resizeBilinear layer (bilinear to any size, align_corners).

The upsample layer's bilinear grids: ALIGN_CORNERS_TRUE is ONNX's align_corners, ALIGN_CORNERS_FALSE
its half_pixel (pytorch_half_pixel is the same grid where no output size is 1). resizeBilinear's
STRICT_ALIGN_ENDPOINTS_MODE is align_corners to any size.
"""

import numpy as np

from runners.common.specs import ResizeSpec

from ..context import EMIT

_PAD_MODES = {"constant": "constant", "reflect": "reflection", "edge": "replication"}


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    rank = len(shape)
    pads = [int(p) for p in ctx.need_const(node, 1, "the pads").reshape(-1)]
    value = ctx.need_const(node, 2, "the pad value") if node.input(2) else np.zeros(1)
    axes = ctx.need_const(node, 3, "the axes").reshape(-1) if node.input(3) else np.arange(rank)
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(int(a) % rank for a in axes):
        begins[a], ends[a] = pads[i], pads[len(axes) + i]
    if rank != 4 or any(begins[:2]) or any(ends[:2]):
        raise ctx.fail("padding an axis other than H and W of an [N, C, H, W] value has no CoreML padding layer")
    if min(begins + ends) < 0:
        raise ctx.fail("negative pads (cropping) are not converted to CoreML's padding layer")
    if mode not in _PAD_MODES:
        raise ctx.fail("pad mode %s has no CoreML equivalent" % mode)
    if mode == "reflect" and any(b >= d or e >= d for b, e, d in zip(begins[2:], ends[2:], shape[2:])):
        raise ctx.fail("reflection padding as wide as the input is not converted")
    ctx.builder.add_padding(
        ctx.layer(node),
        left=begins[3],
        right=ends[3],
        top=begins[2],
        bottom=ends[2],
        value=float(np.asarray(value).reshape(-1)[0]),
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
        padding_type=_PAD_MODES[mode],
    )


_UPSAMPLE_LINEAR = {"align_corners": "ALIGN_CORNERS_TRUE", "half_pixel": "ALIGN_CORNERS_FALSE"}


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    if spec.rank != 4 or not spec.spatial_only():
        raise ctx.fail(
            "%s of %s -> %s: CoreML resizes H and W of [N, C, H, W] values"
            % (spec.describe(), spec.in_shape, spec.out_shape)
        )
    if antialias:
        raise ctx.fail("Resize with antialias has no CoreML layer")
    factors = spec.integer_factors()
    ctm = spec.ctm
    if ctm == "pytorch_half_pixel" and 1 not in spec.out_shape[2:]:
        ctm = "half_pixel"
    x, out = ctx.feature(node.inputs[0]), ctx.out(node)
    if spec.mode == "nearest" and spec.repeats_pixels and factors:
        ctx.builder.add_upsample(ctx.layer(node), factors[0], factors[1], x, out, mode="NN")
    elif spec.mode == "linear" and factors and ctm in _UPSAMPLE_LINEAR:
        ctx.builder.add_upsample(
            ctx.layer(node), factors[0], factors[1], x, out, mode="BILINEAR", linear_upsample_mode=_UPSAMPLE_LINEAR[ctm]
        )
    elif spec.mode == "linear" and ctm == "align_corners":
        ctx.builder.add_resize_bilinear(
            ctx.layer(node),
            x,
            out,
            target_height=spec.out_shape[2],
            target_width=spec.out_shape[3],
            mode="STRICT_ALIGN_ENDPOINTS_MODE",
        )
    else:
        raise ctx.fail(
            "%s by %s (%s -> %s) has no CoreML layer (converted: nearest that repeats pixels by integer factors, "
            "bilinear by integer factors with align_corners or half_pixel, bilinear to any size with "
            "align_corners)" % (spec.describe(), spec.scales[2:], spec.in_shape[2:], spec.out_shape[2:])
        )

"""Resize (nearest, linear, cubic) as nn.Upsample."""

import numpy as np

from runners.common.specs import ResizeSpec

from ..codegen import EMIT, lit

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _torch_mode(spec, ctx, n):
    """(torch mode, align_corners) sampling the grid ONNX's mode and coordinates define."""
    if spec.mode == "nearest":
        if (spec.ctm, spec.nearest_mode) == ("asymmetric", "floor"):
            return "nearest", None
        if spec.ctm in ("half_pixel", "pytorch_half_pixel") and spec.nearest_mode == "round_prefer_ceil":
            return "nearest-exact", None
        raise ctx.fail("nearest resize with %s/%s has no torch mode" % (spec.ctm, spec.nearest_mode))
    if spec.mode not in ("linear", "cubic"):
        raise ctx.fail("resize mode %s" % spec.mode)
    if spec.mode == "cubic" and (n != 2 or abs(spec.cubic_coeff_a + 0.75) > 1e-6 or spec.exclude_outside):
        raise ctx.fail("cubic resize other than torch's bicubic")
    if spec.ctm in ("half_pixel", "pytorch_half_pixel"):
        align = False
    elif spec.ctm == "align_corners":
        align = True
    else:
        raise ctx.fail("%s resize with %s coordinates has no torch mode" % (spec.mode, spec.ctm))
    return (_LINEAR[n] if spec.mode == "linear" else "bicubic"), align


@EMIT.register("Resize")
def resize(node, ctx, mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
           cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0, antialias=0, axes=None,
           keep_aspect_ratio_policy="stretch"):  # fmt: skip
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    n = spec.rank - 2
    if n not in (1, 2, 3):
        raise ctx.fail("resizing a %d-D tensor" % spec.rank)
    if spec.antialias:
        raise ctx.fail("antialiased resizing has no torch layer")
    if not spec.spatial_only():
        raise ctx.fail("resizing the batch or channel dimension")
    tmode, align = _torch_mode(spec, ctx, n)
    if spec.from_sizes:
        arg = "size=%s" % lit(tuple(int(v) for v in spec.out_shape[2:]))
    else:
        spatial = [np.float32(v) for v in spec.scales[2:]]
        arg = "scale_factor=%s" % (lit(spatial[0]) if len(set(spatial)) == 1 else lit(tuple(spatial)))
    opts = ", mode=%r" % tmode
    if align is not None:
        opts += ", align_corners=%s" % align
    mod = ctx.module(node, "nn.Upsample(%s%s)" % (arg, opts))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])))

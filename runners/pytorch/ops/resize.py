"""Resize (nearest, linear, cubic) as nn.Upsample."""

import numpy as np

from ..codegen import EMIT, lit


@EMIT.register("Resize", since=18)
def resize(
    node,
    ctx,
    mode="nearest",
    coordinate_transformation_mode="half_pixel",
    nearest_mode="round_prefer_floor",
    cubic_coeff_a=-0.75,
    exclude_outside=0,
    extrapolation_value=0.0,
    antialias=0,
    axes=None,
    keep_aspect_ratio_policy="stretch",
):
    x = node.inputs[0]
    rank = ctx.need_rank(node, x)
    n = rank - 2
    if n not in (1, 2, 3):
        raise ctx.fail("resizing a %d-D tensor" % rank)
    if antialias or axes is not None or keep_aspect_ratio_policy != "stretch":
        raise ctx.fail("antialias, axes and keep_aspect_ratio_policy are not supported")
    ctm = coordinate_transformation_mode
    align = None
    if mode == "nearest":
        if ctm == "asymmetric" and nearest_mode == "floor":
            tmode = "nearest"
        elif ctm in ("half_pixel", "pytorch_half_pixel") and nearest_mode == "round_prefer_ceil":
            tmode = "nearest-exact"
        else:
            raise ctx.fail("nearest resize with %s/%s has no torch mode" % (ctm, nearest_mode))
    elif mode in ("linear", "cubic"):
        if mode == "cubic" and (n != 2 or abs(cubic_coeff_a + 0.75) > 1e-6 or exclude_outside):
            raise ctx.fail("cubic resize other than torch's bicubic")
        tmode = {1: "linear", 2: "bilinear", 3: "trilinear"}[n] if mode == "linear" else "bicubic"
        if ctm in ("half_pixel", "pytorch_half_pixel"):
            align = False
        elif ctm == "align_corners":
            align = True
        else:
            raise ctx.fail("%s resize with %s coordinates has no torch mode" % (mode, ctm))
    else:
        raise ctx.fail("resize mode %s" % mode)
    scales = ctx.const(node.input(2)) if node.input(2) else None
    sizes = ctx.const(node.input(3)) if node.input(3) else None
    if scales is not None and scales.size:
        s = [float(v) for v in scales.reshape(-1)]
        if s[0] != 1 or s[1] != 1:
            raise ctx.fail("resizing the batch or channel dimension")
        spatial = s[2:]
        arg = "scale_factor=%s" % (
            lit(np.float32(spatial[0])) if len(set(spatial)) == 1 else lit(tuple(np.float32(v) for v in spatial))
        )
    elif sizes is not None and sizes.size:
        sz = [int(v) for v in sizes.reshape(-1)]
        arg = "size=%s" % lit(tuple(sz[2:]))
    else:
        raise ctx.fail("scales or sizes must be constants")
    opts = ", mode=%r" % tmode
    if align is not None:
        opts += ", align_corners=%s" % align
    mod = ctx.module(node, "nn.Upsample(%s%s)" % (arg, opts))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)))

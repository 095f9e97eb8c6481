"""Pad (H and W only) and Resize / Upsample by integer factors."""

import numpy as np

from ..context import EMIT

_PAD_MODES = {"constant": "constant", "reflect": "reflection", "edge": "replication"}


@EMIT.register("Pad", since=18)
def pad(node, ctx, mode="constant"):
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = ctx.const(node.input(1))
    value = ctx.const(node.input(2)) if node.input(2) else np.zeros(1)
    rank = ctx.rank(node.input(0))
    if pads is None or value is None or rank != 4 or node.input(3):
        raise ctx.fail("only constant H/W pads of an [N, C, H, W] value map to CoreML's padding layer")
    pads = [int(p) for p in pads]
    if any(pads[i] for i in (0, 1, 4, 5)) or any(p < 0 for p in pads):
        raise ctx.fail("padding the batch or channel axis, or cropping, has no CoreML padding layer")
    if mode not in _PAD_MODES:
        raise ctx.fail("pad mode %s has no CoreML equivalent" % mode)
    ctx.builder.add_padding(
        ctx.layer(node),
        left=pads[3],
        right=pads[7],
        top=pads[2],
        bottom=pads[6],
        value=float(np.asarray(value).reshape(-1)[0]),
        input_name=ctx.feature(node.input(0)),
        output_name=ctx.out(node),
        padding_type=_PAD_MODES[mode],
    )


_LINEAR_MODES = {
    "align_corners": "ALIGN_CORNERS_TRUE",
    "half_pixel": "ALIGN_CORNERS_FALSE",
    "pytorch_half_pixel": "ALIGN_CORNERS_FALSE",
}


def _factors(node, ctx):
    sx, sy = ctx.shape(node.input(0)), ctx.shape(ctx.out(node))
    if sx is None or sy is None or len(sx) != 4 or any(d is None for d in sx + sy):
        raise ctx.fail("resize needs known [N, C, H, W] shapes", hint="give --inputShape")
    if sx[:2] != sy[:2] or sy[2] % sx[2] or sy[3] % sx[3]:
        raise ctx.fail("resize %s -> %s: CoreML's upsample layer scales H and W by integers" % (sx, sy))
    return sy[2] // sx[2], sy[3] // sx[3]


@EMIT.register("Resize", since=18)
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
    mode = mode.decode() if isinstance(mode, bytes) else mode
    ctm = coordinate_transformation_mode
    ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
    nearest_mode = nearest_mode.decode() if isinstance(nearest_mode, bytes) else nearest_mode
    fh, fw = _factors(node, ctx)
    x = ctx.feature(node.input(0))
    if mode == "nearest":
        ok = (ctm in ("half_pixel", "pytorch_half_pixel") and nearest_mode.startswith("round")) or (
            ctm == "asymmetric" and nearest_mode == "floor"
        )
        if not ok:
            raise ctx.fail("nearest resize with %s / %s is not a plain repeat" % (ctm, nearest_mode))
        ctx.builder.add_upsample(ctx.layer(node), fh, fw, x, ctx.out(node), mode="NN")
    elif mode == "linear" and ctm in _LINEAR_MODES:
        ctx.builder.add_upsample(
            ctx.layer(node), fh, fw, x, ctx.out(node), mode="BILINEAR", linear_upsample_mode=_LINEAR_MODES[ctm]
        )
    else:
        raise ctx.fail("resize mode %s with %s has no CoreML upsample equivalent" % (mode, ctm))

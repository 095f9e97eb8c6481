"""[upsample] (nearest neighbour by an integer stride) and [reorg] (YOLOv2's passthrough layer)."""

import numpy as np

from ..parse import PARSE
from ._activation import required


@PARSE.register("upsample")
def upsample(s, ctx):
    stride = required(ctx, "stride", "DarkNet's default is 2, OpenCV's importer takes 1")
    if stride <= 0:
        raise ctx.refuse("stride", "a negative stride downsamples (reverse upsampling), which is not converted")
    if s.float("scale", 1.0) != 1.0:
        raise ctx.refuse("scale", "OpenCV's importer, which checks the conversion, ignores the scale")
    x = ctx.prev()
    n, c, h, w = ctx.shape(x)
    scales = ctx.const("scales", np.array([1, 1, stride, stride], dtype=np.float32))
    y = ctx.node(
        "Resize",
        [x, "", scales],
        [n, c, h * stride, w * stride],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )
    ctx.finish(y)


@PARSE.register("reorg")
def reorg(s, ctx):
    """DarkNet's reorg (and OpenCV's Reorg layer) reads its C x H x W input as a (C/s^2) x (H*s) x
    (W*s) array, moves each s x s block into channels (SpaceToDepth) and reads the C x H x W result
    as (C*s^2) x (H/s) x (W/s): two reshapes around a SpaceToDepth."""
    stride = required(ctx, "stride", "DarkNet's default is 1, OpenCV's importer takes 2")
    x = ctx.prev()
    n, c, h, w = ctx.shape(x)
    if stride <= 0 or c % (stride * stride) or h % stride or w % stride:
        raise ctx.refuse(
            "stride", "needs channels divisible by stride^2 and height and width by stride (input %dx%dx%d)" % (c, h, w)
        )
    if stride == 1:
        ctx.finish(x)
        return
    wide = [n, c // (stride * stride), h * stride, w * stride]
    a = ctx.node("Reshape", [x, ctx.const("wide", np.array(wide, dtype=np.int64))], wide, "wide")
    b = ctx.node("SpaceToDepth", [a], [n, c, h, w], "blocks", blocksize=stride)
    out = [n, c * stride * stride, h // stride, w // stride]
    ctx.finish(ctx.node("Reshape", [b, ctx.const("shape", np.array(out, dtype=np.int64))], out))

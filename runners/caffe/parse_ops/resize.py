"""brocolli-caffe's resizing layers: Upsample (nearest, one integer factor for H and W, or W of a
3-D blob) and BilinearInterpolate (to a size, half-pixel or corner-aligned)."""

from ..parse import PARSE


@PARSE.register("Upsample")
def upsample(layer, ctx):
    p = layer.upsample_param
    shape = ctx.shape(0)
    n = 2 if p.dims_num == 4 else 1
    scale = int(p.scale)
    scales = [1.0] * (len(shape) - n) + [float(scale)] * n
    ctx.node("Resize", [ctx.bottom(0), "", ctx.const("scales", scales)], [ctx.top(0)], mode="nearest",
             coordinate_transformation_mode="asymmetric", nearest_mode="floor")  # fmt: skip
    ctx.set_shape(0, shape[: len(shape) - n] + [d * scale for d in shape[len(shape) - n :]])


@PARSE.register("BilinearInterpolate")
def bilinear_interpolate(layer, ctx):
    """Caffe clamps the source coordinates to the input and interpolates between two cells, as
    ONNX's linear Resize does; it reads out of bounds on an input of one row or column."""
    p = layer.bilinear_interpolate_param
    shape = ctx.shape(0)
    if len(shape) != 4 or min(shape[2:]) < 2:
        raise ctx.fail("unsupported-attribute", "BilinearInterpolate of a %s blob (4-D, two cells per axis)" % shape)
    if p.HasField("scale_factor") and not (p.HasField("dst_h") or p.HasField("dst_w")):
        size = [int(shape[2] * p.scale_factor), int(shape[3] * p.scale_factor)]
    else:
        size = [int(p.dst_h) if p.HasField("dst_h") else shape[2], int(p.dst_w) if p.HasField("dst_w") else shape[3]]
    out = shape[:2] + size
    ctm = "align_corners" if p.align_corners else "half_pixel"
    ctx.node("Resize", [ctx.bottom(0), "", "", ctx.const("sizes", out, "int64")], [ctx.top(0)], mode="linear",
             coordinate_transformation_mode=ctm)  # fmt: skip
    ctx.set_shape(0, out)

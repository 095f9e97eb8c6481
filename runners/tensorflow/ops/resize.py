"""Resize with integer scale factors as layers.UpSampling2D (nearest or bilinear)."""

from ..codegen import EMIT, channels_last

# nearest-neighbour modes that, by integer factors, repeat every pixel (what UpSampling2D does);
# others (asymmetric with round_prefer_ceil, half_pixel with floor, ...) pick other pixels
_REPEATS = {
    ("asymmetric", "floor"),
    ("half_pixel", "round_prefer_floor"),
    ("half_pixel", "round_prefer_ceil"),
    ("pytorch_half_pixel", "round_prefer_floor"),
    ("pytorch_half_pixel", "round_prefer_ceil"),
}


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
    x = node.inputs[0]
    in_shape = ctx.need_shape(x)
    out_shape = ctx.need_shape(node.outputs[0])
    if len(in_shape) != 4 or in_shape[:2] != out_shape[:2]:
        raise ctx.fail("only spatial resizing of NCHW tensors is supported")
    factors = [o / i for o, i in zip(out_shape[2:], in_shape[2:])]
    if any(f != int(f) or f < 1 for f in factors):
        raise ctx.fail("resize factors %s are not integers" % factors)
    factors = [int(f) for f in factors]
    ctm = coordinate_transformation_mode
    if mode == "nearest" and (ctm, nearest_mode) in _REPEATS:
        interp = "nearest"
    elif mode == "linear" and coordinate_transformation_mode in ("half_pixel", "pytorch_half_pixel"):
        interp = "bilinear"
    else:
        raise ctx.fail(
            "Resize mode=%s with coordinate_transformation_mode=%s has no Keras layer"
            % (mode, coordinate_transformation_mode)
        )
    size = factors[0] if factors[0] == factors[1] else tuple(factors)
    ctor = "layers.UpSampling2D(size=%r, interpolation=%r)" % (size, interp)
    ctx.layer(node, ctor, [ctx.x(x, channels_last(4))], channels_last(4))

"""Resize, from ResizeSpec (runners/common/specs.py): whole-factor upsampling that repeats pixels
(or bilinear with half-pixel centres, in 2-D) as layers.UpSamplingND; every other form as one
matrix product per resized axis (keras.ops.einsum with ONNX's interpolation weights), which is
what ONNX's separable resize computes."""

from runners.common.specs import ResizeSpec

from ..codegen import EMIT, channels_last, identifier, pair

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _upsampling(spec):
    """The UpSamplingND layer that computes `spec`, or None."""
    n = spec.rank - 2
    factors = spec.integer_factors() if spec.spatial_only() and n in (1, 2, 3) else None
    if factors is None:
        return None
    if spec.repeats_pixels:
        return "layers.UpSampling%dD(size=%s)" % (n, pair(factors))
    if n == 2 and spec.mode == "linear" and spec.ctm in ("half_pixel", "pytorch_half_pixel"):
        return "layers.UpSampling2D(size=%s, interpolation='bilinear')" % pair(factors)
    return None


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    ctx.need_shape(node.inputs[0])  # the interpolation weights are sized by the input
    if spec.ctm == "tf_crop_and_resize":
        raise ctx.fail("Resize with coordinate_transformation_mode tf_crop_and_resize is not converted")
    dtype = ctx.dtype(node.inputs[0])
    if dtype is not None and dtype.kind != "f":
        raise ctx.fail("Resize of %s values is not converted (Keras interpolates floats)" % dtype.name)
    x = node.inputs[0]
    ctor = _upsampling(spec)
    if ctor is not None:
        cl = channels_last(spec.rank)
        ctx.layer(node, ctor, [ctx.x(x, cl)], cl)
        return
    var, layout = ctx.any(x)
    axes = spec.resized_axes()
    stored_in = _LETTERS[: spec.rank]
    resized = {layout.index(a): _LETTERS[-1 - k] for k, a in enumerate(axes)}  # a new letter per resized axis
    stored_out = "".join(resized.get(p, c) for p, c in enumerate(stored_in))
    terms, args = [stored_in], [var]
    hint = identifier(ctx.weight_hint(node), "resize")
    for a in axes:
        p = layout.index(a)
        key = ctx.store_const("%s_axis%d" % (hint, a), spec.axis_weights(a))
        terms.append(stored_in[p] + resized[p])
        args.append("W[%r]" % key)
    ctx.assign(node, "keras.ops.einsum(%r, %s)" % (",".join(terms) + "->" + stored_out, ", ".join(args)), layout)

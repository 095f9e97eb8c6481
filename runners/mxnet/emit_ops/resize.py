"""Resize (and Upsample's successor forms), from the shared ResizeSpec.

Nearest resizing that repeats every pixel by one integer factor on H and W is UpSampling; other
nearest resizing takes the input cells the spec names, axis by axis. Linear and cubic resizing
(any coordinate mode, antialias, exclude_outside) multiply each resized axis by the spec's
interpolation matrix: these modes are separable, so this is the whole resize."""

import numpy as np

from runners.common.specs import ResizeSpec

from ..codegen import EMIT


def _on_axis(ctx, src, axis, rank, fn):
    """`fn(src)` applied to `axis` moved last (MXNet's dot contracts the last axis)."""
    if axis == rank - 1:
        return fn(src)
    moved = ctx.temp(ctx.call("swapaxes", src, dim1=axis, dim2=rank - 1), "moved")
    return ctx.temp(ctx.call("swapaxes", fn(moved), dim1=axis, dim2=rank - 1), "back")


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    if spec.ctm == "tf_crop_and_resize":
        raise ctx.fail("Resize with tf_crop_and_resize is not converted to MXNet")
    if spec.mode not in ("nearest", "linear", "cubic"):
        raise ctx.fail("Resize mode %s is not an ONNX mode" % spec.mode)
    x = node.input(0)
    src = ctx.x(x)
    factors = spec.integer_factors() if spec.rank == 4 and spec.spatial_only() else None
    if spec.repeats_pixels and factors and factors[0] == factors[1]:
        ctx.assign(node, ctx.call("UpSampling", src, scale=factors[0], sample_type="nearest"))
        return
    if spec.mode != "nearest":
        ctx.need_float(x, "%s resizing" % spec.mode)
    rank = spec.rank
    for axis in spec.resized_axes():
        tag = "%s_axis%d" % (node.outputs[0], axis)
        if spec.mode == "nearest":
            index = ctx.param(tag + "_cells", spec.nearest_index(axis).astype(np.int64))
            src = ctx.temp(ctx.call("take", src, index, axis=axis), "near")
        else:
            weights = ctx.param(tag + "_weights", spec.axis_weights(axis).astype(ctx.dtype(x) or np.float32))
            src = _on_axis(ctx, src, axis, rank, lambda s, w=weights: ctx.temp(ctx.call("dot", s, w), "interp"))
    ctx.assign(node, ctx.call("identity", src))

"""Resize: ONNX's sampling along each resized axis (runners/common/specs.py ResizeSpec.axis_weights)
as a constant matrix applied by C.times: exact for nearest (a 0/1 matrix), linear and cubic, with
or without antialias."""

from runners.common.specs import ResizeSpec

from ..emit import EMIT
from ._along import along_axis


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    ctx.need_shape(node.inputs[0])  # every size known: the emitted model is static
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    if spec.ctm == "tf_crop_and_resize":
        raise ctx.fail("%s; its region of interest has no CNTK form" % spec.describe())
    x = node.inputs[0]
    expr = ctx.x(x)
    for axis in spec.resized_axes():
        weights = spec.axis_weights(axis).T  # [out, in]
        expr = along_axis(ctx, expr, x, axis, weights, "%s_axis%d_weights" % (node.outputs[0], axis))
        expr = ctx.temp(expr, "resized%d" % axis)
    ctx.assign(node, ctx.call("alias", expr))

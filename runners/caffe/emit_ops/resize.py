"""Resize (sizes and grid from runners/common/specs.py) -> brocolli-caffe's Upsample (nearest, one
integer factor for H and W), a depthwise Deconvolution of ones (nearest, integer factors per axis:
each output cell gets exactly one input cell), BilinearInterpolate (linear with half_pixel or
align_corners, the grid of the output size); any other nearest, linear or cubic resizing (antialias
too) as ONNX's sampling matrix of each axis (ResizeSpec.axis_weights) applied by an InnerProduct over
that axis (moved last by Permute)."""

import numpy as np

from runners.common.specs import ResizeSpec

from ..emit import EMIT
from ._common import permute

# linear coordinate modes BilinearInterpolate computes: (mode, align_corners)
_LINEAR = {"half_pixel": False, "pytorch_half_pixel": False, "align_corners": True}


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    ctx.need_shape(node.inputs[0])  # every size known: the emitted model is static
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    x = ctx.blob(node.inputs[0])
    native = spec.rank == 4 and spec.spatial_only()
    if native and spec.repeats_pixels and spec.integer_factors() is not None:
        _repeat(node, ctx, spec, x, spec.integer_factors())
    elif native and _bilinear_fits(spec):
        layer = ctx.layer("BilinearInterpolate", [x], [node.outputs[0]])
        p = layer.bilinear_interpolate_param
        p.dst_h, p.dst_w = spec.out_shape[2:]
        p.align_corners = _LINEAR[spec.ctm]
    else:
        _by_matrices(node, ctx, spec, x)


def _repeat(node, ctx, spec, x, factors):
    if factors[0] == factors[1]:
        layer = ctx.layer("Upsample", [x], [node.outputs[0]])
        layer.upsample_param.scale = factors[0]
        return
    channels = spec.in_shape[1]
    layer = ctx.layer("Deconvolution", [x], [node.outputs[0]])
    p = layer.convolution_param
    p.num_output, p.group, p.bias_term = channels, channels, False
    p.kernel_size.extend(factors)
    p.stride.extend(factors)
    ctx.add_blob(layer, np.ones([channels, 1] + factors, np.float32))


def _bilinear_fits(spec):
    """BilinearInterpolate samples the grid of the output size, clamped, from two cells per axis."""
    if spec.mode != "linear" or spec.ctm not in _LINEAR or spec.antialias:
        return False
    sizes_in, sizes_out = spec.in_shape[2:], spec.out_shape[2:]
    if min(sizes_in) < 2 or min(sizes_out) < 2:
        return False
    return spec.from_sizes or all(float(o) / i == s for i, o, s in zip(sizes_in, sizes_out, spec.scales[2:]))


def _by_matrices(node, ctx, spec, x):
    """Each resized axis moved last, mapped by an InnerProduct holding its sampling matrix, moved back."""
    if spec.ctm == "tf_crop_and_resize":
        raise ctx.fail("%s; its region of interest has no Caffe form" % spec.describe())
    last = spec.rank - 1
    axes = spec.resized_axes()
    if not axes:
        ctx.alias[node.outputs[0]] = x
    for n, axis in enumerate(axes):
        weights = spec.axis_weights(axis).T  # InnerProduct holds (num_output, K)
        order = list(range(spec.rank))
        order[axis], order[last] = last, axis
        if axis != last:
            x = permute(ctx, x, order, ctx.temp("axis%d_last" % axis))
        top = node.outputs[0] if n == len(axes) - 1 and axis == last else ctx.temp("resized%d" % axis)
        layer = ctx.layer("InnerProduct", [x], [top])
        p = layer.inner_product_param
        p.num_output, p.bias_term, p.axis = int(weights.shape[0]), False, last
        ctx.add_blob(layer, weights)
        x = top
        if axis != last:
            done = n == len(axes) - 1
            x = permute(ctx, x, order, node.outputs[0] if done else ctx.temp("axis%d_back" % axis))

"""Resize of H and W (sizes and grid from runners/common/specs.py) -> brocolli-caffe's Upsample
(nearest, one integer factor for both axes), a depthwise Deconvolution of ones (nearest, integer
factors per axis: each output cell gets exactly one input cell), BilinearInterpolate (linear with
half_pixel or align_corners, the grid of the output size)."""

import numpy as np

from runners.common.specs import ResizeSpec

from ..emit import EMIT

# linear coordinate modes BilinearInterpolate computes: (mode, align_corners)
_LINEAR = {"half_pixel": False, "pytorch_half_pixel": False, "align_corners": True}


@EMIT.register("Resize")
def resize(node, ctx, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
    spec = ResizeSpec.of(ctx, node, antialias, axes, coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
                         extrapolation_value, keep_aspect_ratio_policy, mode, nearest_mode)  # fmt: skip
    if spec.rank != 4 or not spec.spatial_only():
        raise ctx.fail("%s of axes %s; Caffe resizes H and W of 4-D blobs" % (spec.describe(), spec.resized_axes()))
    x = ctx.blob(node.inputs[0])
    if spec.repeats_pixels:
        factors = spec.integer_factors()
        if factors is None:
            raise ctx.fail("%s by factors %s; Caffe repeats pixels by whole factors"
                           % (spec.describe(), spec.scales[2:]))  # fmt: skip
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
        return
    if spec.mode != "linear" or spec.ctm not in _LINEAR or spec.antialias:
        raise ctx.fail("%s; Caffe has nearest upsampling by whole factors and bilinear half_pixel/align_corners"
                       % spec.describe())  # fmt: skip
    sizes_in, sizes_out = spec.in_shape[2:], spec.out_shape[2:]
    if min(sizes_in) < 2 or (spec.ctm == "align_corners" and min(sizes_out) < 2):
        raise ctx.fail("bilinear resizing of %s to %s; BilinearInterpolate needs two cells per axis"
                       % (sizes_in, sizes_out))  # fmt: skip
    if not spec.from_sizes and any(float(o) / i != s for i, o, s in zip(sizes_in, sizes_out, spec.scales[2:])):
        raise ctx.fail("%s by scales %s that are not output/input sizes; BilinearInterpolate samples the grid of the "
                       "sizes" % (spec.describe(), spec.scales[2:]))  # fmt: skip
    if spec.ctm == "pytorch_half_pixel" and min(sizes_out) < 2:
        raise ctx.fail("pytorch_half_pixel resizing to a single cell")
    layer = ctx.layer("BilinearInterpolate", [x], [node.outputs[0]])
    p = layer.bilinear_interpolate_param
    p.dst_h, p.dst_w = sizes_out
    p.align_corners = _LINEAR[spec.ctm]

"""Conv and ConvTranspose -> Convolution and Deconvolution (geometry from runners/common/specs.py).
Caffe pads both sides of an axis alike: other pads become a Pad layer before the convolution, or
a crop (Slice) and Pad after the deconvolution."""

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..emit import EMIT
from ._common import crop, pad_hw


def _param(ctx, layer, spec, pads, num_output, weight, bias):
    p = layer.convolution_param
    p.num_output = int(num_output)
    p.kernel_size.extend(spec.kernel)
    p.stride.extend(spec.strides)
    p.pad.extend(int(v) for v in pads)
    p.dilation.extend(spec.dilations)
    p.group = spec.group
    p.bias_term = bias is not None
    ctx.add_blob(layer, weight)
    if bias is not None:
        ctx.add_blob(layer, bias)


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    x = ctx.blob(node.inputs[0])
    own = spec.begins
    if not spec.symmetric:  # the difference in a Pad layer, the common part in the convolution
        shape = ctx.need_shape(node.inputs[0])
        own = [min(b, e) for b, e in zip(spec.begins, spec.ends)]
        extra_b = [b - o for b, o in zip(spec.begins, own)]
        extra_e = [e - o for e, o in zip(spec.ends, own)]
        if len(shape) != 4:
            raise ctx.fail("asymmetric pads %s of a %d-D convolution; Caffe pads both sides alike"
                           % (spec.pads(), spec.n))  # fmt: skip
        x = pad_hw(ctx, x, shape, extra_b, extra_e, ctx.temp("padded"))
    layer = ctx.layer("Convolution", [x], [node.outputs[0]])
    _param(ctx, layer, spec, own, spec.out_channels, spec.weight, spec.bias)


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """Deconvolution gives the full transposed convolution less `pad` rows on each side; ONNX's
    output is the full one less `begins`, less `ends`, plus `output_padding` rows at the end (rows
    no input reaches: the bias)."""
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides)  # fmt: skip
    shape = ctx.need_shape(node.inputs[0])
    full = spec.full_spatial()
    full = [f - o for f, o in zip(full, spec.out_pad)]  # without output_padding
    own = [max(0, min(b, e - o)) for b, e, o in zip(spec.begins, spec.ends, spec.out_pad)]
    have = [f - 2 * p for f, p in zip(full, own)]
    keep = [(b - p, min(h, f + o - e - p)) for b, e, o, p, f, h in zip(spec.begins, spec.ends, spec.out_pad, own, full,
                                                                       have)]  # fmt: skip
    extend = [f + o - e - p - h for b, e, o, p, f, h in zip(spec.begins, spec.ends, spec.out_pad, own, full, have)]
    extend = [max(0, v) for v in extend]
    out = node.outputs[0]
    cut = any(k != (0, h) for k, h in zip(keep, have))
    late_bias = spec.bias if any(extend) else None
    top = out if not cut and not any(extend) else ctx.temp("deconvolution")
    layer = ctx.layer("Deconvolution", [ctx.blob(node.inputs[0])], [top])
    _param(ctx, layer, spec, own, spec.out_channels, spec.weight, None if late_bias is not None else spec.bias)
    dims = shape[:2]
    dims[1] = spec.out_channels
    if cut:
        after = out if not any(extend) else ctx.temp("cropped")
        top = crop(ctx, top, dims + have, [(2 + i, b, e) for i, (b, e) in enumerate(keep)], after)
    if any(extend):
        if len(shape) != 4:
            raise ctx.fail("output_padding beyond the pads of a %d-D transposed convolution" % spec.n)
        padded = out if late_bias is None else ctx.temp("extended")
        pad_hw(ctx, top, dims + [e - b for b, e in keep], [0, 0], extend, padded)
        if late_bias is not None:
            layer = ctx.layer("Bias", [padded], [out])
            layer.bias_param.axis, layer.bias_param.num_axes = 1, 1
            ctx.add_blob(layer, late_bias)

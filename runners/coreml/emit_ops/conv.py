"""Conv (incl. depthwise and grouped), ConvTranspose."""

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..context import EMIT, float32
from ._common import two_d


def _convolution(node, ctx, spec, weight, bias, out, pads, deconv=False):
    """One convolution layer: `weight` in CoreML's (kH, kW, kernel channels, outputs) layout, valid
    padding with (top, left, bottom, right) amounts."""
    top, left, bottom, right = pads
    ctx.builder.add_convolution(ctx.layer(node), kernel_channels=weight.shape[2], output_channels=spec.out_channels,
                                height=spec.kernel[0], width=spec.kernel[1], stride_height=spec.strides[0],
                                stride_width=spec.strides[1], border_mode="valid", groups=spec.group, W=weight,
                                b=bias, has_bias=bias is not None, is_deconv=deconv,
                                input_name=ctx.feature(node.inputs[0]), output_name=out,
                                dilation_factors=list(spec.dilations), padding_top=top, padding_bottom=bottom,
                                padding_left=left, padding_right=right)  # fmt: skip


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    bias = float32(spec.bias) if spec.bias is not None else None
    weight = float32(spec.weight).transpose(2, 3, 1, 0)
    _convolution(node, ctx, spec, weight, bias, ctx.out(node), two_d(ctx, spec, "convolution"))


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """CoreML's deconvolution with valid padding cuts `top` rows from the start and `bottom` rows
    from the end of the full transposed convolution, as ONNX's pads do. output_padding's extra end
    rows are cut less where the end pad allows; beyond that they are zero rows (bias only), added by
    a padding layer before the bias. CoreML ignores a deconvolution's dilation: dilated ones are
    refused."""
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides)  # fmt: skip
    if spec.n != 2:
        raise ctx.fail(
            "%d-D transposed convolution has no CoreML NeuralNetwork layer" % spec.n,
            hint="convert to an ML Program instead (-om model.mlpackage)",
        )
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("CoreML's deconvolution layer has no dilation (it ignores dilationFactor)")
    cut = [e - p for e, p in zip(spec.ends, spec.out_pad)]  # rows cut from the end of the full output
    zeros = [max(0, -c) for c in cut]
    bias = float32(spec.bias) if spec.bias is not None else None
    deconv_out = ctx.temp(node, "deconv") if any(zeros) else ctx.out(node)
    pads = (spec.begins[0], spec.begins[1], max(0, cut[0]), max(0, cut[1]))
    weight = float32(spec.weight).transpose(2, 3, 0, 1)
    _convolution(node, ctx, spec, weight, None if any(zeros) else bias, deconv_out, pads, deconv=True)
    if not any(zeros):
        return
    padded = ctx.out(node) if bias is None else ctx.temp(node, "padded")
    ctx.builder.add_padding(ctx.layer(node, "output_padding"), left=0, right=zeros[1], top=0, bottom=zeros[0],
                            value=0.0, input_name=deconv_out, output_name=padded)  # fmt: skip
    if bias is not None:
        ctx.builder.add_bias(ctx.layer(node, "bias"), bias, padded, ctx.out(node), shape_bias=[bias.size])

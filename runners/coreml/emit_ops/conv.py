"""Conv (incl. depthwise and grouped), ConvTranspose."""

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..context import EMIT, float32
from ._common import two_d


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    top, left, bottom, right = two_d(ctx, spec, "convolution")
    w = float32(spec.weight)
    ctx.builder.add_convolution(
        ctx.layer(node),
        kernel_channels=w.shape[1],
        output_channels=w.shape[0],
        height=spec.kernel[0],
        width=spec.kernel[1],
        stride_height=spec.strides[0],
        stride_width=spec.strides[1],
        border_mode="valid",
        groups=spec.group,
        W=w.transpose(2, 3, 1, 0),
        b=float32(spec.bias) if spec.bias is not None else None,
        has_bias=spec.bias is not None,
        input_name=ctx.feature(node.inputs[0]),
        output_name=ctx.out(node),
        dilation_factors=list(spec.dilations),
        padding_top=top,
        padding_bottom=bottom,
        padding_left=left,
        padding_right=right,
    )


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """CoreML's deconvolution with valid padding cuts `top` rows from the start and `bottom` rows
    from the end of the full transposed convolution, as ONNX's pads do. output_padding's extra end
    rows are cut less where the end pad allows; beyond that they are zero rows (bias only), added by
    a padding layer before the bias. CoreML ignores a deconvolution's dilation: dilated ones are
    refused."""
    spec = ConvTransposeSpec.of(
        ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape, pads, strides
    )
    if spec.n != 2:
        raise ctx.fail(
            "%d-D transposed convolution has no CoreML NeuralNetwork layer" % spec.n,
            hint="convert to an ML Program instead (-om model.mlpackage)",
        )
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("CoreML's deconvolution layer has no dilation (it ignores dilationFactor)")
    cut = [e - p for e, p in zip(spec.ends, spec.out_pad)]  # rows cut from the end of the full output
    zeros = [max(0, -c) for c in cut]
    w = float32(spec.weight)
    bias = float32(spec.bias) if spec.bias is not None else None
    deconv_out = ctx.temp(node, "deconv") if any(zeros) else ctx.out(node)
    ctx.builder.add_convolution(
        ctx.layer(node),
        kernel_channels=w.shape[0],
        output_channels=spec.out_channels,
        height=spec.kernel[0],
        width=spec.kernel[1],
        stride_height=spec.strides[0],
        stride_width=spec.strides[1],
        border_mode="valid",
        groups=spec.group,
        W=w.transpose(2, 3, 0, 1),
        b=None if any(zeros) else bias,
        has_bias=bias is not None and not any(zeros),
        is_deconv=True,
        input_name=ctx.feature(node.inputs[0]),
        output_name=deconv_out,
        padding_top=spec.begins[0],
        padding_bottom=max(0, cut[0]),
        padding_left=spec.begins[1],
        padding_right=max(0, cut[1]),
    )
    if not any(zeros):
        return
    padded = ctx.out(node) if bias is None else ctx.temp(node, "padded")
    ctx.builder.add_padding(
        ctx.layer(node, "output_padding"),
        left=0,
        right=zeros[1],
        top=0,
        bottom=zeros[0],
        value=0.0,
        input_name=deconv_out,
        output_name=padded,
    )
    if bias is not None:
        ctx.builder.add_bias(ctx.layer(node, "bias"), bias, padded, ctx.out(node), shape_bias=[bias.size])

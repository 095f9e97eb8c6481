"""Conv and ConvTranspose -> Convolution and Deconvolution."""

from ..emit import EMIT
from ._common import no_auto_pad, symmetric_pads, weight


def _conv_param(ctx, layer, w, kernel_shape, strides, pads, dilations, group, bias, num_output):
    n = w.ndim - 2
    p = layer.convolution_param
    p.num_output = num_output
    p.kernel_size.extend(kernel_shape or list(w.shape[2:]))
    p.stride.extend(strides or [1] * n)
    p.pad.extend(symmetric_pads(ctx, pads, n))
    p.dilation.extend(dilations or [1] * n)
    p.group = group
    p.bias_term = bias is not None
    ctx.add_blob(layer, w)
    if bias is not None:
        ctx.add_blob(layer, bias)


@EMIT.register("Conv")
def conv(node, ctx, kernel_shape=None, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET"):
    no_auto_pad(ctx, auto_pad)
    w = weight(ctx, node.inputs[1], "weight")
    bias = weight(ctx, node.input(2), "bias") if node.input(2) else None
    layer = ctx.layer("Convolution", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    _conv_param(ctx, layer, w, kernel_shape, strides, pads, dilations, group, bias, w.shape[0])


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, kernel_shape=None, strides=None, pads=None, dilations=None, group=1,
                   auto_pad="NOTSET", output_padding=None, output_shape=None):  # fmt: skip
    no_auto_pad(ctx, auto_pad)
    if output_shape or any(output_padding or []):
        raise ctx.fail("output_padding/output_shape; Deconvolution's output size is s*(i-1)+k-2p")
    w = weight(ctx, node.inputs[1], "weight")
    bias = weight(ctx, node.input(2), "bias") if node.input(2) else None
    layer = ctx.layer("Deconvolution", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    _conv_param(ctx, layer, w, kernel_shape, strides, pads, dilations, group, bias, w.shape[1] * group)

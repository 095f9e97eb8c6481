"""Conv (incl. depthwise and grouped), ConvTranspose."""

from ..context import EMIT, float32
from ._spatial import window


def _weights(node, ctx, what):
    w = ctx.const(node.input(1))
    if w is None:
        raise ctx.fail("the %s weight is computed at run time; CoreML needs it as a constant" % what)
    b = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(2) and b is None:
        raise ctx.fail("the %s bias is computed at run time; CoreML needs it as a constant" % what)
    if w.ndim != 4:
        raise ctx.fail("%d-D %s has no CoreML NeuralNetwork layer" % (w.ndim - 2, what))
    return float32(w), (float32(b) if b is not None else None)


@EMIT.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    w, b = _weights(node, ctx, "convolution")
    x = node.input(0)
    kernel, strides, dilations, (top, left, bottom, right) = window(
        ctx, x, kernel_shape or list(w.shape[2:]), strides, dilations, pads, auto_pad
    )
    ctx.builder.add_convolution(
        ctx.layer(node),
        kernel_channels=w.shape[1],
        output_channels=w.shape[0],
        height=kernel[0],
        width=kernel[1],
        stride_height=strides[0],
        stride_width=strides[1],
        border_mode="valid",
        groups=group,
        W=w.transpose(2, 3, 1, 0),
        b=b,
        has_bias=b is not None,
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
        dilation_factors=dilations,
        padding_top=top,
        padding_bottom=bottom,
        padding_left=left,
        padding_right=right,
    )


@EMIT.register("ConvTranspose", since=11)
def conv_transpose(
    node,
    ctx,
    auto_pad="NOTSET",
    dilations=None,
    group=1,
    kernel_shape=None,
    output_padding=None,
    output_shape=None,
    pads=None,
    strides=None,
):
    w, b = _weights(node, ctx, "transposed convolution")
    if any(d != 1 for d in dilations or [1, 1]):
        raise ctx.fail("dilated transposed convolution has no CoreML NeuralNetwork layer")
    auto = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto not in ("NOTSET", "VALID"):
        raise ctx.fail("transposed convolution with auto_pad %s is not converted" % auto, hint="use explicit pads")
    out = ctx.shape(ctx.out(node))
    if out is None or any(d is None for d in out[2:]):
        raise ctx.fail("the output's spatial size is unknown", hint="give --inputShape")
    kernel = list(kernel_shape or w.shape[2:])
    strides = list(strides or [1, 1])
    top, left, bottom, right = list(pads or [0, 0, 0, 0]) if auto == "NOTSET" else [0, 0, 0, 0]
    ctx.builder.add_convolution(
        ctx.layer(node),
        kernel_channels=w.shape[0],
        output_channels=w.shape[1] * group,
        height=kernel[0],
        width=kernel[1],
        stride_height=strides[0],
        stride_width=strides[1],
        border_mode="valid",
        groups=group,
        W=w.transpose(2, 3, 0, 1),
        b=b,
        has_bias=b is not None,
        is_deconv=True,
        output_shape=(int(out[2]), int(out[3])),
        input_name=ctx.feature(node.input(0)),
        output_name=ctx.out(node),
        padding_top=top,
        padding_bottom=bottom,
        padding_left=left,
        padding_right=right,
    )

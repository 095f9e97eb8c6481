"""Convolution and Deconvolution: symmetric pads, groups, dilation; weights (out, in/group, k...)
and (in, out/group, k...) as Caffe stores them."""

from ..parse import PARSE
from ._spatial import values


def _geometry(ctx, p):
    shape = ctx.shape(0)
    if p.axis != 1:
        raise ctx.fail("unsupported-attribute", "convolution over axis %d (only channel axis 1)" % p.axis)
    n = len(shape) - 2
    kernel = values(p, "kernel_size", n, 0)
    if any(k <= 0 for k in kernel):
        raise ctx.fail("invalid-model", "no kernel size", hint="set kernel_size in convolution_param")
    return shape, kernel, values(p, "stride", n, 1), values(p, "pad", n, 0), values(p, "dilation", n, 1)


def _attrs(kernel, stride, pad, dilation, group):
    return dict(kernel_shape=kernel, strides=stride, pads=pad + pad, dilations=dilation, group=group)


def _convolve(layer, ctx, op, transposed):
    p = layer.convolution_param
    shape, kernel, stride, pad, dilation = _geometry(ctx, p)
    group, cout, cin = p.group, p.num_output, shape[1]
    if cin % group or cout % group:
        raise ctx.fail(
            "invalid-model", "channels %d and num_output %d are not multiples of group %d" % (cin, cout, group)
        )
    w_shape = [cin, cout // group] if transposed else [cout, cin // group]
    inputs = [ctx.bottom(0), ctx.const("weight", ctx.blob(0, w_shape + kernel, "weights"))]
    if p.bias_term:
        inputs.append(ctx.const("bias", ctx.blob(1, [cout], "bias")))
    ctx.node(op, inputs, [ctx.top(0)], **_attrs(kernel, stride, pad, dilation, group))
    spatial = []
    for i, k, s, pd, d in zip(shape[2:], kernel, stride, pad, dilation):
        extent = d * (k - 1) + 1
        spatial.append(s * (i - 1) + extent - 2 * pd if transposed else (i + 2 * pd - extent) // s + 1)
    ctx.set_shape(0, [shape[0], cout] + spatial)


@PARSE.register("Convolution")
def convolution(layer, ctx):
    _convolve(layer, ctx, "Conv", transposed=False)


@PARSE.register("Deconvolution")
def deconvolution(layer, ctx):
    _convolve(layer, ctx, "ConvTranspose", transposed=True)

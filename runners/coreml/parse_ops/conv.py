"""convolution (incl. grouped, depthwise and transposed)."""

import numpy as np

from ..parse import PARSE, weights


def _pads(params, ctx):
    kind = params.WhichOneof("ConvolutionPaddingType")
    if kind == "same":
        mode = "SAME_LOWER" if params.same.asymmetryMode == params.same.TOP_LEFT_HEAVY else "SAME_UPPER"
        return {"auto_pad": mode}
    amounts = params.valid.paddingAmounts.borderAmounts
    if len(amounts) == 0:
        return {"pads": [0, 0, 0, 0]}
    h, w = amounts[0], amounts[1]
    return {"pads": [h.startEdgeSize, w.startEdgeSize, h.endEdgeSize, w.endEdgeSize]}


@PARSE.register("convolution")
def convolution(layer, params, ctx):
    if len(layer.input) > 1:
        raise ctx.fail("a convolution whose weights are a second input is not read")
    groups = params.nGroups or 1
    kh, kw = (list(params.kernelSize) or [3, 3])[:2]
    strides = list(params.stride) or [1, 1]
    dilations = list(params.dilationFactor) or [1, 1]
    w = weights(params.weights, ctx)
    x = ctx.x(layer.input[0])
    attrs = dict(kernel_shape=[kh, kw], strides=strides, group=groups, **_pads(params, ctx))
    if params.isDeconvolution:
        w = w.reshape(params.kernelChannels, params.outputChannels // groups, kh, kw)
        if any(d != 1 for d in dilations):
            raise ctx.fail("dilated deconvolution is not read")
        if len(params.outputShape):
            attrs["output_shape"] = [int(d) for d in params.outputShape]
            if "pads" in attrs:
                attrs.pop("pads")
                pads = _pads(params, ctx)["pads"]
                if any(pads):
                    raise ctx.fail("a deconvolution with both an output shape and padding is not read")
        op = "ConvTranspose"
    else:
        w = w.reshape(params.outputChannels, params.kernelChannels, kh, kw)
        attrs["dilations"] = dilations
        op = "Conv"
    inputs = [x, ctx.const("weight", w)]
    if params.hasBias:
        inputs.append(ctx.const("bias", weights(params.bias, ctx, "bias").astype(np.float32)))
    ctx.node(op, inputs, [ctx.out()], **attrs)

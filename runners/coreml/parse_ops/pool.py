"""pooling: max and average, global, VALID / INCLUDE_LAST_PIXEL (ceil mode) / SAME padding."""

from ..parse import PARSE


@PARSE.register("pooling")
def pooling(layer, params, ctx):
    kinds = {params.MAX: "Max", params.AVERAGE: "Average"}
    if params.type not in kinds:
        raise ctx.fail("L2 pooling has no IR op")
    kind = kinds[params.type]
    x = ctx.x(layer.input[0])
    if params.globalPooling:
        ctx.node("Global%sPool" % kind, [x], [ctx.out()])
        return
    attrs = dict(kernel_shape=list(params.kernelSize), strides=list(params.stride) or [1, 1])
    padding = params.WhichOneof("PoolingPaddingType")
    if padding == "valid":
        amounts = params.valid.paddingAmounts.borderAmounts
        if len(amounts):
            h, w = amounts[0], amounts[1]
            attrs["pads"] = [h.startEdgeSize, w.startEdgeSize, h.endEdgeSize, w.endEdgeSize]
    elif padding == "includeLastPixel":
        amounts = list(params.includeLastPixel.paddingAmounts) or [0, 0]
        attrs["pads"] = [amounts[0], amounts[1], amounts[0], amounts[1]]
        attrs["ceil_mode"] = 1
    elif padding == "same":
        attrs["auto_pad"] = "SAME_LOWER" if params.same.asymmetryMode == params.same.TOP_LEFT_HEAVY else "SAME_UPPER"
    if kind == "Average":
        attrs["count_include_pad"] = 0 if params.avgPoolExcludePadding else 1
    ctx.node("%sPool" % kind, [x], [ctx.out()], **attrs)

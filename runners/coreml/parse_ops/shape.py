"""flatten, reshape, padding, upsample."""

import numpy as np

from ..parse import PARSE


@PARSE.register("flatten")
def flatten(layer, params, ctx):
    if params.mode != params.CHANNEL_FIRST:
        raise ctx.fail("channel-last flatten is not read")
    ctx.node("Flatten", [ctx.x(layer.input[0])], [ctx.out(rank=2)], axis=1)


@PARSE.register("reshape")
def reshape(layer, params, ctx):
    target = [int(d) for d in params.targetShape]
    if params.mode != params.CHANNEL_FIRST:
        raise ctx.fail("channel-last reshape is not read")
    if len(target) == 4:
        if target[0] != 1:
            raise ctx.fail("a reshape that changes the sequence axis is not read")
        target = target[1:]
    if len(target) != 3:
        raise ctx.fail("reshape target %s is not (C, H, W)" % list(params.targetShape))
    shape = ctx.const("shape", np.array([0] + target, np.int64))
    ctx.node("Reshape", [ctx.x(layer.input[0]), shape], [ctx.out()])


@PARSE.register("permute")
def permute(layer, params, ctx):
    axes = [int(a) for a in params.axis]
    if len(axes) != 4 or axes[0] != 0:
        raise ctx.fail("a permute that moves the sequence axis is not read")
    ctx.node("Transpose", [ctx.x(layer.input[0])], [ctx.out()], perm=axes)


@PARSE.register("padding")
def padding(layer, params, ctx):
    kind = params.WhichOneof("PaddingType")
    modes = {"constant": "constant", "reflection": "reflect", "replication": "edge"}
    amounts = params.paddingAmounts.borderAmounts
    h, w = (amounts[0].startEdgeSize, amounts[0].endEdgeSize), (amounts[1].startEdgeSize, amounts[1].endEdgeSize)
    pads = ctx.const("pads", np.array([0, 0, h[0], w[0], 0, 0, h[1], w[1]], np.int64))
    inputs = [ctx.x(layer.input[0]), pads]
    if kind == "constant":
        inputs.append(ctx.const("value", np.array(params.constant.value, np.float32)))
    ctx.node("Pad", inputs, [ctx.out()], mode=modes[kind])


@PARSE.register("upsample")
def upsample(layer, params, ctx):
    if len(params.fractionalScalingFactor):
        raise ctx.fail("fractional upsampling is not read")
    fh, fw = list(params.scalingFactor) or [1, 1]
    scales = ctx.const("scales", np.array([1, 1, fh, fw], np.float32))
    x = ctx.x(layer.input[0])
    if params.mode == params.NN:
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif params.linearUpsampleMode == params.ALIGN_CORNERS_TRUE:
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners")
    elif params.linearUpsampleMode == params.ALIGN_CORNERS_FALSE:
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    else:
        raise ctx.fail(
            "bilinear upsampling in DEFAULT mode samples a grid no IR resize mode reproduces",
            hint="re-export the model with align_corners true or false",
        )
    ctx.node("Resize", [x, "", scales], [ctx.out()], **attrs)


_SAMPLING = {"STRICT_ALIGN_ENDPOINTS_MODE": "align_corners", "UPSAMPLE_MODE": "asymmetric"}


@PARSE.register("resizeBilinear")
def resize_bilinear(layer, params, ctx):
    """STRICT_ALIGN_ENDPOINTS_MODE samples ONNX's align_corners grid, UPSAMPLE_MODE its asymmetric
    one (clamped to the input); ALIGN_ENDPOINTS_MODE is align_corners too except for an output size
    of 1; ROI_ALIGN_MODE has no ONNX grid."""
    mode = params.mode.Method.Name(params.mode.samplingMethod)
    size = [int(d) for d in params.targetSize] or [1, 1]
    if mode == "ALIGN_ENDPOINTS_MODE" and 1 not in size:
        mode = "STRICT_ALIGN_ENDPOINTS_MODE"
    if mode not in _SAMPLING:
        raise ctx.fail("resizeBilinear with sampling mode %s to %s is not read" % (mode, size))
    sizes = ctx.const("sizes", np.array(size, np.int64))
    ctx.node(
        "Resize",
        [ctx.x(layer.input[0]), "", "", sizes],
        [ctx.out()],
        mode="linear",
        axes=[2, 3],
        coordinate_transformation_mode=_SAMPLING[mode],
    )

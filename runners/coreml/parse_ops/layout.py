"""slice, split, reorganizeData (space to depth, depth to space, pixel shuffle), loadConstant,
crop."""

import numpy as np

from ..parse import PARSE, weights

SLICE_AXES = {"CHANNEL_AXIS": 1, "HEIGHT_AXIS": 2, "WIDTH_AXIS": 3}


def _i64(values):
    return np.array(values, np.int64)


@PARSE.register("slice")
def slice_(layer, params, ctx):
    axis = SLICE_AXES[params.SliceAxis.Name(params.axis)]
    stride = int(params.stride) or 1
    inputs = [
        ctx.x(layer.input[0]),
        ctx.const("starts", _i64([params.startIndex])),
        ctx.const("ends", _i64([params.endIndex])),
        ctx.const("axes", _i64([axis])),
        ctx.const("steps", _i64([stride])),
    ]
    ctx.node("Slice", inputs, [ctx.out()])


@PARSE.register("split")
def split(layer, params, ctx):
    n = int(params.nOutputs) or len(layer.output)
    if n != len(layer.output):
        raise ctx.fail("a split into %d parts with %d outputs is not read" % (n, len(layer.output)))
    outs = [ctx.out(i) for i in range(n)]
    ctx.node("Split", [ctx.x(layer.input[0])], outs, axis=1, num_outputs=n)


@PARSE.register("reorganizeData")
def reorganize_data(layer, params, ctx):
    mode = params.ReorganizationType.Name(params.mode)
    x, out, b = ctx.x(layer.input[0]), ctx.out(), int(params.blockSize)
    if mode == "SPACE_TO_DEPTH":
        ctx.node("SpaceToDepth", [x], [out], blocksize=b)
    elif mode == "DEPTH_TO_SPACE":
        ctx.node("DepthToSpace", [x], [out], blocksize=b, mode="DCR")
    elif mode == "PIXEL_SHUFFLE":
        ctx.node("DepthToSpace", [x], [out], blocksize=b, mode="CRD")
    else:
        raise ctx.fail("reorganizeData mode %s is not read" % mode)


@PARSE.register("loadConstant")
def load_constant(layer, params, ctx):
    shape = [int(d) for d in params.shape]
    if len(shape) != 3:
        raise ctx.fail("a loadConstant of shape %s is not (C, H, W)" % shape)
    value = weights(params.data, ctx, "constant").reshape([1] + shape)
    ctx.node("Identity", [ctx.const("value", value)], [ctx.out()])


@PARSE.register("crop")
def crop(layer, params, ctx):
    if len(layer.input) != 1:
        raise ctx.fail("a crop to a second input's shape is not read")
    h, w = params.cropAmounts.borderAmounts
    inputs = [
        ctx.x(layer.input[0]),
        ctx.const("starts", _i64([h.startEdgeSize, w.startEdgeSize])),
        ctx.const("ends", _i64([-h.endEdgeSize or 2**62, -w.endEdgeSize or 2**62])),
        ctx.const("axes", _i64([2, 3])),
    ]
    ctx.node("Slice", inputs, [ctx.out()])

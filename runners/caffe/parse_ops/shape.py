"""Layers that move values around: Flatten, Reshape (0 copies, -1 infers), Crop (FCN), Permute, Tile,
brocolli-caffe's Pad; constants as tops (Parameter, DummyData); Dropout is the identity at inference;
Silence consumes blobs."""

import numpy as np

from ..parse import PARSE


def _axis(axis, rank):
    return axis + rank if axis < 0 else axis


def _reshape(ctx, shape):
    ctx.node("Reshape", [ctx.bottom(0), ctx.const("shape", np.array(shape), "int64")], [ctx.top(0)])
    ctx.set_shape(0, shape)


@PARSE.register("Flatten")
def flatten(layer, ctx):
    p = layer.flatten_param
    shape = ctx.shape(0)
    start, end = _axis(p.axis, len(shape)), _axis(p.end_axis, len(shape))
    _reshape(ctx, shape[:start] + [int(np.prod(shape[start : end + 1]))] + shape[end + 1 :])


@PARSE.register("Reshape")
def reshape(layer, ctx):
    p = layer.reshape_param
    shape = ctx.shape(0)
    start = _axis(p.axis, len(shape) + 1) if p.axis < 0 else p.axis
    end = len(shape) if p.num_axes == -1 else start + p.num_axes
    dims = []
    for i, d in enumerate(int(v) for v in p.shape.dim):
        dims.append(shape[start + i] if d == 0 else d)
    out = shape[:start] + dims + shape[end:]
    if out.count(-1) > 1:
        raise ctx.fail("invalid-model", "more than one -1 in reshape_param.shape")
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        out[out.index(-1)] = int(np.prod(shape)) // known if known else 0
    if int(np.prod(out)) != int(np.prod(shape)):
        raise ctx.fail("invalid-model", "cannot reshape %s into %s" % (shape, out))
    _reshape(ctx, out)


@PARSE.register("Crop")
def crop(layer, ctx):
    p = layer.crop_param
    shape, ref = ctx.shape(0), ctx.shape(1)
    axis = _axis(p.axis, len(shape))
    offsets = [int(v) for v in p.offset]
    if len(offsets) == 1:
        offsets = offsets * (len(shape) - axis)
    elif not offsets:
        offsets = [0] * (len(shape) - axis)
    if len(offsets) != len(shape) - axis:
        raise ctx.fail("invalid-model", "%d offsets for axes %d..%d" % (len(offsets), axis, len(shape) - 1))
    out = shape[:axis] + ref[axis:]
    for i, o in enumerate(offsets):
        if o + ref[axis + i] > shape[axis + i]:
            size = shape[axis + i]
            raise ctx.fail("invalid-model", "crop of axis %d at offset %d exceeds its size %d" % (axis + i, o, size))
    axes = list(range(axis, len(shape)))
    starts = offsets
    ends = [o + ref[a] for o, a in zip(offsets, axes)]
    ctx.node("Slice", [ctx.bottom(0), ctx.const("starts", starts, "int64"), ctx.const("ends", ends, "int64"),
                       ctx.const("axes", axes, "int64")], [ctx.top(0)])  # fmt: skip
    ctx.set_shape(0, out)


@PARSE.register("Permute")
def permute(layer, ctx):
    shape = ctx.shape(0)
    order = [int(v) for v in layer.permute_param.order]
    order += [i for i in range(len(shape)) if i not in order]
    ctx.node("Transpose", [ctx.bottom(0)], [ctx.top(0)], perm=order)
    ctx.set_shape(0, [shape[i] for i in order])


@PARSE.register("Dropout")
def dropout(layer, ctx):
    ctx.node("Identity", [ctx.bottom(0)], [ctx.top(0)])
    ctx.set_shape(0, ctx.shape(0))


@PARSE.register("Silence")
def silence(layer, ctx):
    """Consumes its bottoms; writes nothing."""


@PARSE.register("Pad")
def pad(layer, ctx):
    """brocolli-caffe's padding of H and W of a 4-D blob: constant, replicated or reflected."""
    p = layer.pad_param
    shape = ctx.shape(0)
    pads = [int(p.pad_u), int(p.pad_l), int(p.pad_d), int(p.pad_r)]
    if len(shape) != 4 or min(pads) < 0:
        raise ctx.fail("unsupported-attribute", "a Pad of a %d-D blob or with negative pads %s" % (len(shape), pads))
    mode = {p.CONSTANT: "constant", p.REPLICATE: "edge", p.REFLECT: "reflect"}[p.pad_type]
    inputs = [ctx.bottom(0), ctx.const("pads", [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], "int64")]
    if mode == "constant":
        inputs.append(ctx.const("value", float(p.pad_value)))
    ctx.node("Pad", inputs, [ctx.top(0)], mode=mode)
    ctx.set_shape(0, shape[:2] + [shape[2] + pads[0] + pads[2], shape[3] + pads[1] + pads[3]])


@PARSE.register("Tile")
def tile(layer, ctx):
    p = layer.tile_param
    shape = ctx.shape(0)
    axis = _axis(p.axis, len(shape))
    repeats = [1] * len(shape)
    repeats[axis] = int(p.tiles)
    ctx.node("Tile", [ctx.bottom(0), ctx.const("repeats", repeats, "int64")], [ctx.top(0)])
    ctx.set_shape(0, [d * r for d, r in zip(shape, repeats)])


def _constant_top(ctx, value):
    ctx.node("Identity", [ctx.const("value", value)], [ctx.top(0)])
    ctx.set_shape(0, list(np.shape(value)))


@PARSE.register("Parameter")
def parameter(layer, ctx):
    """A blob of the .caffemodel as the layer's top."""
    _constant_top(ctx, ctx.blob(0, [int(d) for d in layer.parameter_param.shape.dim], "parameter"))


@PARSE.register("DummyData")
def dummy_data(layer, ctx):
    """Tops filled with a constant (the filler brocolli-caffe writes for a constant blob)."""
    p = layer.dummy_data_param
    if len(layer.top) != 1 or len(p.data_filler) > 1 or (p.data_filler and p.data_filler[0].type != "constant"):
        raise ctx.fail("unsupported-attribute", "DummyData other than one top filled with a constant")
    shape = [int(d) for d in p.shape[0].dim] if len(p.shape) else [p.num[0], p.channels[0], p.height[0], p.width[0]]
    value = p.data_filler[0].value if len(p.data_filler) else 0.0
    _constant_top(ctx, np.full(shape, value, np.float32))

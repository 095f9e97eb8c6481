"""Layout ops -> Concat, Flatten, Reshape, Permute, Slice, Pad; Identity and Dropout are aliases."""

import numpy as np

from ..emit import EMIT


def _alias(node, ctx, **_):
    ctx.alias[node.outputs[0]] = ctx.blob(node.inputs[0])


EMIT.register("Identity")(_alias)
EMIT.register("Dropout")(_alias)


@EMIT.register("Concat")
def concat(node, ctx, axis=1):
    rank = len(ctx.static_shape(node.inputs[0]))
    layer = ctx.layer("Concat", [ctx.blob(v) for v in node.inputs], [node.outputs[0]])
    layer.concat_param.axis = axis + rank if axis < 0 else axis


def _reshape(node, ctx):
    out = ctx.static_shape(node.outputs[0])
    layer = ctx.layer("Reshape", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    layer.reshape_param.shape.dim.extend(out)


EMIT.register("Reshape")(lambda node, ctx, allowzero=0: _reshape(node, ctx))
EMIT.register("Squeeze")(lambda node, ctx: _reshape(node, ctx))
EMIT.register("Unsqueeze")(lambda node, ctx: _reshape(node, ctx))


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    if axis == 1:
        ctx.layer("Flatten", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    else:
        _reshape(node, ctx)


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    rank = len(ctx.static_shape(node.inputs[0]))
    layer = ctx.layer("Permute", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    layer.permute_param.order.extend(perm if perm is not None else list(reversed(range(rank))))


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=0):
    shape = ctx.static_shape(node.inputs[0])
    axis = axis + len(shape) if axis < 0 else axis
    sizes = [ctx.static_shape(o)[axis] for o in node.outputs]
    layer = ctx.layer("Slice", [ctx.blob(node.inputs[0])], list(node.outputs))
    layer.slice_param.axis = axis
    layer.slice_param.slice_point.extend(int(v) for v in np.cumsum(sizes)[:-1])


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    pads = ctx.const(node.inputs[1])
    value = ctx.const(node.input(2))
    shape = ctx.static_shape(node.inputs[0])
    if pads is None or len(shape) != 4 or node.input(3):
        raise ctx.fail("padding that is not constant pads of H and W of an NCHW tensor")
    pads = [int(v) for v in pads]
    if pads[0] or pads[1] or pads[4] or pads[5] or min(pads) < 0:
        raise ctx.fail("padding %s of the batch or channel axis, or cropping" % pads)
    modes = {"constant": "CONSTANT", "edge": "REPLICATE", "reflect": "REFLECT"}
    if mode not in modes:
        raise ctx.fail("padding mode %s" % mode)
    layer = ctx.layer("Pad", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    p = layer.pad_param
    p.pad_type = getattr(p, modes[mode])
    p.pad_u, p.pad_l, p.pad_d, p.pad_r = pads[2], pads[3], pads[6], pads[7]
    p.pad_value = float(np.asarray(value).reshape(-1)[0]) if value is not None else 0.0

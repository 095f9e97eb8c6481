"""Layout ops -> Concat, Flatten, Reshape, Permute, Slice, Pad; Identity and Dropout are aliases."""

import numpy as np

from ..emit import EMIT


def _alias(node, ctx, **_):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("Dropout's mask output has no Caffe equivalent (inference keeps every value)")
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
    if 0 in out:
        raise ctx.fail("a reshape to the empty shape %s; Caffe blobs are not empty" % out)
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
    if 0 in sizes:
        raise ctx.fail("a split into empty parts %s; Caffe's Slice makes non-empty blobs" % sizes)
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


@EMIT.register("Slice")
def slice_(node, ctx):
    """One Caffe Slice per cut axis (steps of 1); the parts cut away go to a Silence layer."""
    shape = ctx.static_shape(node.inputs[0])
    starts, ends = ctx.const(node.inputs[1]), ctx.const(node.inputs[2])
    axes = ctx.const(node.input(3)) if node.input(3) else np.arange(len(starts))
    steps = ctx.const(node.input(4)) if node.input(4) else np.ones(len(starts), np.int64)
    if starts is None or ends is None or axes is None or steps is None or any(int(s) != 1 for s in steps):
        raise ctx.fail("a Slice with computed bounds or steps other than 1")
    cuts = []
    for start, end, axis in zip(starts, ends, axes):
        axis = int(axis) % len(shape)
        begin, stop, _ = slice(int(start), int(end)).indices(shape[axis])
        if (begin, stop) != (0, shape[axis]):
            cuts.append((axis, begin, stop))
    x = ctx.blob(node.inputs[0])
    if not cuts:
        ctx.alias[node.outputs[0]] = x
        return
    dropped = []
    for i, (axis, begin, stop) in enumerate(cuts):
        kept = node.outputs[0] if i == len(cuts) - 1 else ctx.temp("axis%d" % axis)
        points = [p for p in (begin, stop) if 0 < p < shape[axis]]
        tops = []
        if begin > 0:
            tops.append(ctx.temp("before%d" % axis))
        tops.append(kept)
        if stop < shape[axis]:
            tops.append(ctx.temp("after%d" % axis))
        layer = ctx.layer("Slice", [x], tops, name="%s/axis%d" % (node.name, axis))
        layer.slice_param.axis = axis
        layer.slice_param.slice_point.extend(points)
        dropped += [t for t in tops if t != kept]
        x = kept
    ctx.layer("Silence", dropped, [], name=node.name + "/unused")

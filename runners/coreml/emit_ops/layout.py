"""Concat, Split and Slice over the C, H or W axis, DepthToSpace (DCR and CRD), SpaceToDepth.

CoreML's concat layer joins channels; a concatenation over H or W is one between permutes. Split
and Slice are slice layers (one per output and sliced axis: [start, end) with a positive stride).
DepthToSpace DCR and SpaceToDepth are the reorganizeData layer (TensorFlow's order, which is ONNX's
DCR); CRD is DCR after a channel permutation written as a (C, H, W) reshape, a permute and a
reshape back.
"""

import numpy as np

from ..context import EMIT
from .shape import SHAPE_HINT, reshape_blob

AXIS_NAMES = {1: "channel", 2: "height", 3: "width"}
# permute that brings axis 2 or 3 to the channel axis (its own inverse)
TO_CHANNELS = {2: (0, 2, 1, 3), 3: (0, 3, 2, 1)}


def _axis(node, ctx, axis, x):
    rank = ctx.need_rank(x)
    a = int(axis) % rank
    if rank not in (2, 4) or a == 0 or (rank == 2 and a != 1):
        raise ctx.fail(
            "%s over axis %d of a rank-%d value: CoreML's classic layers work over C, H or W of [N, C, H, W] "
            "values and F of [N, F] values" % (node.op_type, axis, rank),
            hint=SHAPE_HINT,
        )
    return a


def _input_blob(node, ctx, name, i):
    """A computed input's blob, or a constant [1, C, H, W] input loaded by a loadConstant layer
    (only where the batch is 1: the layer's blob has batch 1)."""
    value = ctx.const(name)
    if value is None:
        return ctx.feature(name)
    shape = ctx.need_shape(node.outputs[0])
    if value.ndim != len(shape) or value.shape[0] != 1 or shape[0] != 1:
        raise ctx.fail(
            "a constant input of shape %s for a batch of %d: CoreML loads constants with a batch of 1"
            % (list(value.shape), shape[0])
        )
    chw = list(value.shape[1:]) + [1] * (4 - value.ndim)
    out = ctx.temp(node, "const%d" % i)
    ctx.builder.add_load_constant(ctx.layer(node, "const%d" % i), out, np.asarray(value, np.float32).reshape(-1), chw)
    return out


@EMIT.register("Concat")
def concat(node, ctx, axis=1):
    names = [n for n in node.inputs if n]
    a = _axis(node, ctx, axis, node.outputs[0])
    blobs = [_input_blob(node, ctx, n, i) for i, n in enumerate(names)]
    if len(blobs) == 1:
        ctx.alias(node, names[0])
        return
    if a == 1:
        ctx.builder.add_elementwise(ctx.layer(node), blobs, ctx.out(node), "CONCAT")
        return
    perm = TO_CHANNELS[a]
    moved = []
    for i, b in enumerate(blobs):
        moved.append(ctx.temp(node, "moved%d" % i))
        ctx.builder.add_permute(ctx.layer(node, "moved%d" % i), perm, b, moved[-1])
    joined = ctx.temp(node, "joined")
    ctx.builder.add_elementwise(ctx.layer(node, "join"), moved, joined, "CONCAT")
    ctx.builder.add_permute(ctx.layer(node), perm, joined, ctx.out(node))


def _slice_layer(node, ctx, src, out, axis, start, end, step, suffix=""):
    ctx.builder.add_slice(ctx.layer(node, suffix), src, out, AXIS_NAMES[axis], start, end, step)
    return out


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=None):
    x = node.inputs[0]
    a = _axis(node, ctx, axis, x)
    blob = ctx.feature(x)
    begin = 0
    for i, out in enumerate(node.outputs):
        size = ctx.need_shape(out)[a]
        if out:
            _slice_layer(node, ctx, blob, out, a, begin, begin + size, 1, "out%d" % i)
        begin += size


@EMIT.register("Slice")
def slice_(node, ctx):
    """Every sliced axis a slice layer with ONNX's starts/ends clamped to [0, size] (steps > 0)."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    starts = ctx.need_const(node, 1, "the starts").reshape(-1)
    ends = ctx.need_const(node, 2, "the ends").reshape(-1)
    axes = ctx.need_const(node, 3, "the axes").reshape(-1) if node.input(3) else np.arange(len(starts))
    steps = ctx.need_const(node, 4, "the steps").reshape(-1) if node.input(4) else np.ones(len(starts), np.int64)
    cuts = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        a = _axis(node, ctx, axis, x)
        n = shape[a]
        if step <= 0:
            raise ctx.fail("a slice with step %d: CoreML's slice layer steps forward" % step)
        begin, stop, _ = slice(int(start), int(end), int(step)).indices(n)
        if stop <= begin:
            raise ctx.fail("an empty slice has no CoreML layer")
        if (begin, stop, step) != (0, n, 1):
            cuts.append((a, begin, stop, int(step)))
    src = ctx.feature(x)
    if not cuts:
        ctx.alias(node, x)
        return
    for i, (a, begin, stop, step) in enumerate(cuts):
        out = ctx.out(node) if i == len(cuts) - 1 else ctx.temp(node, "axis%d" % a)
        src = _slice_layer(node, ctx, src, out, a, begin, stop, step, "" if i == len(cuts) - 1 else "axis%d" % a)


def _reorganize(node, ctx, src, out, mode, blocksize, suffix=""):
    ctx.builder.add_reorganize_data(ctx.layer(node, suffix), src, out, mode=mode, block_size=int(blocksize))


@EMIT.register("DepthToSpace")
def depth_to_space(node, ctx, blocksize, mode="DCR"):
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    if len(shape) != 4:
        raise ctx.fail("DepthToSpace of a rank-%d value" % len(shape))
    src = ctx.feature(x)
    if mode == "CRD":
        b2 = int(blocksize) ** 2
        n, c, h, w = shape
        grouped = reshape_blob(node, ctx, src, shape, ctx.temp(node, "grouped"), [n, c // b2, b2, h * w], "group")
        moved = ctx.temp(node, "moved")
        ctx.builder.add_permute(ctx.layer(node, "move"), (0, 2, 1, 3), grouped, moved)
        src = reshape_blob(node, ctx, moved, [n, b2, c // b2, h * w], ctx.temp(node, "dcr"), shape, "ungroup")
    _reorganize(node, ctx, src, ctx.out(node), "DEPTH_TO_SPACE", blocksize)


@EMIT.register("SpaceToDepth")
def space_to_depth(node, ctx, blocksize):
    if ctx.need_rank(node.inputs[0]) != 4:
        raise ctx.fail("SpaceToDepth of a rank-%d value" % ctx.rank(node.inputs[0]))
    _reorganize(node, ctx, ctx.feature(node.inputs[0]), ctx.out(node), "SPACE_TO_DEPTH", blocksize)

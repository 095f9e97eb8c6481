"""Layout ops -> Concat, Flatten, Reshape, Permute, Slice, Pad, Tile; Gather with constant indices
as Slice + Concat, with a constant table as Embed; Expand as Tile; constant padding of any axis as
a Concat with DummyData blobs."""

import numpy as np

from runners.common.specs import pad_amounts

from ..emit import EMIT
from ._common import broadcast, crop, pad_hw, permute, reshape, take


def _result(node, ctx, blob):
    if blob != node.outputs[0]:
        ctx.alias[node.outputs[0]] = blob


@EMIT.register("Concat")
def concat(node, ctx, axis=1):
    rank = ctx.need_rank(node.inputs[0])
    layer = ctx.layer("Concat", [ctx.blob(v) for v in node.inputs if v], [node.outputs[0]])
    layer.concat_param.axis = axis + rank if axis < 0 else axis


def _reshape(node, ctx):
    out = ctx.need_shape(node.outputs[0])
    if 0 in out:
        raise ctx.fail("a reshape to the empty shape %s; Caffe blobs are not empty" % out)
    reshape(ctx, ctx.blob(node.inputs[0]), out, node.outputs[0])


@EMIT.register("Reshape")
def reshape_(node, ctx, allowzero=0):
    _reshape(node, ctx)


@EMIT.register("Squeeze", "Unsqueeze")
def squeeze(node, ctx):
    _reshape(node, ctx)


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    if axis == 1:
        ctx.layer("Flatten", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    else:
        _reshape(node, ctx)


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    rank = ctx.need_rank(node.inputs[0])
    permute(ctx, ctx.blob(node.inputs[0]), perm if perm is not None else list(reversed(range(rank))), node.outputs[0])


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=0):
    shape = ctx.need_shape(node.inputs[0])
    axis = axis + len(shape) if axis < 0 else axis
    sizes = [ctx.need_shape(o)[axis] for o in node.outputs]
    if 0 in sizes:
        raise ctx.fail("a split into empty parts %s; Caffe's Slice makes non-empty blobs" % sizes)
    if len(sizes) == 1:
        _result(node, ctx, ctx.blob(node.inputs[0]))
        return
    layer = ctx.layer("Slice", [ctx.blob(node.inputs[0])], list(node.outputs))
    layer.slice_param.axis = axis
    layer.slice_param.slice_point.extend(int(v) for v in np.cumsum(sizes)[:-1])


def _pad_by_concat(ctx, x, shape, begins, ends, value, top):
    """Constant padding of any axis: a Concat of DummyData blobs holding `value` and `x`."""
    padded = [a for a in range(len(shape)) if begins[a] or ends[a]]
    shape = list(shape)
    for n, a in enumerate(padded):
        parts = []
        for size, where in ((begins[a], "before"), (ends[a], "after")):
            if size:
                part = list(shape)
                part[a] = size
                parts.append((where, ctx.filled(part, value, "pad%d_%s" % (a, where))))
        bottoms = [b for w, b in parts if w == "before"] + [x] + [b for w, b in parts if w == "after"]
        x = top if n == len(padded) - 1 else ctx.temp("padded%d" % a)
        layer = ctx.layer("Concat", bottoms, [x], name=x)
        layer.concat_param.axis = a
        shape[a] += begins[a] + ends[a]
    return x


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    shape = ctx.need_shape(node.inputs[0])
    rank = len(shape)
    begins, ends = pad_amounts(ctx, node, rank)
    value = float(np.asarray(ctx.need_const(node, 2, "the padding value")).reshape(-1)[0]) if node.input(2) else 0.0
    x = ctx.blob(node.inputs[0])
    if min(begins + ends) < 0:  # negative pads crop
        cuts = [(a, max(0, -b), shape[a] - max(0, -e)) for a, (b, e) in enumerate(zip(begins, ends))]
        x = crop(ctx, x, shape, cuts, ctx.temp("cropped"))
        shape = [stop - start for _, start, stop in cuts]
        begins, ends = [max(0, b) for b in begins], [max(0, e) for e in ends]
    if not any(begins + ends):
        _result(node, ctx, x)
        return
    on_hw = rank == 4 and not any(begins[:2] + ends[:2])
    if mode == "constant" and not on_hw:
        _pad_by_concat(ctx, x, shape, begins, ends, value, node.outputs[0])
        return
    modes = {"constant": "CONSTANT", "edge": "REPLICATE", "reflect": "REFLECT"}
    if mode not in modes or not on_hw:
        raise ctx.fail("%s padding %s; Caffe's Pad layer pads H and W of 4-D blobs" % (mode, begins + ends))
    pad_hw(ctx, x, shape, begins[2:], ends[2:], node.outputs[0], value, modes[mode])


@EMIT.register("Slice")
def slice_(node, ctx):
    """A crop per axis with steps of 1; other steps (and reversal) pick the entries by Slice + Concat."""
    shape = ctx.need_shape(node.inputs[0])
    starts, ends = ctx.need_const(node, 1, "the starts"), ctx.need_const(node, 2, "the ends")
    axes = ctx.need_const(node, 3, "the axes") if node.input(3) else np.arange(len(starts))
    steps = ctx.need_const(node, 4, "the steps") if node.input(4) else np.ones(len(starts), np.int64)
    x = ctx.blob(node.inputs[0])
    shape = list(shape)
    chosen = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = int(axis) % len(shape)
        positions = list(range(*slice(int(start), int(end), int(step)).indices(shape[axis])))
        if not positions:
            raise ctx.fail("a Slice that leaves axis %d empty; Caffe blobs are not empty" % axis)
        if positions != list(range(shape[axis])):
            chosen.append((axis, positions))
    for n, (axis, positions) in enumerate(chosen):
        top = node.outputs[0] if n == len(chosen) - 1 else ctx.temp("axis%d" % axis)
        x = take(ctx, x, shape, axis, positions, top)
        shape[axis] = len(positions)
    _result(node, ctx, x)


@EMIT.register("Gather")
def gather(node, ctx, axis=0):
    """Constant indices: the entries picked along `axis` (Slice + Concat), reshaped; a constant
    table read at computed indices: Embed."""
    if ctx.const(node.inputs[0]) is not None and ctx.const(node.inputs[1]) is None:
        _embed(node, ctx, axis)
        return
    shape = ctx.need_shape(node.inputs[0])
    axis = axis + len(shape) if axis < 0 else axis
    indices = np.asarray(ctx.need_const(node, 1, "the indices"))
    positions = [int(i) % shape[axis] for i in indices.reshape(-1)]
    blob = take(ctx, ctx.blob(node.inputs[0]), shape, axis, positions, ctx.temp("picked"))
    reshape(ctx, blob, ctx.need_shape(node.outputs[0]), node.outputs[0])


def _embed(node, ctx, axis):
    table = ctx.const(node.inputs[0])
    if table.ndim != 2 or axis % 2 != 0:
        raise ctx.fail("a Gather from a constant of shape %s along axis %d; Caffe's Embed reads rows of a matrix"
                       % (list(table.shape), axis))  # fmt: skip
    layer = ctx.layer("Embed", [ctx.blob(node.inputs[1])], [node.outputs[0]])
    p = layer.embed_param
    p.input_dim, p.num_output, p.bias_term = int(table.shape[0]), int(table.shape[1]), False
    ctx.add_blob(layer, table)
    ctx.warnings.append(
        "node %s: Caffe's Embed reads indices as floats and refuses negative ones (ONNX counts them from the end)"
        % node.name
    )


@EMIT.register("Tile")
def tile(node, ctx):
    repeats = [int(r) for r in ctx.need_const(node, 1, "the repeats")]
    x = ctx.blob(node.inputs[0])
    tiled = [a for a, r in enumerate(repeats) if r != 1]
    if 0 in repeats:
        raise ctx.fail("a Tile by 0; Caffe blobs are not empty")
    if not tiled:
        _result(node, ctx, x)
        return
    for n, a in enumerate(tiled):
        layer = ctx.layer("Tile", [x], [node.outputs[0] if n == len(tiled) - 1 else ctx.temp("tiled%d" % a)])
        layer.tile_param.axis, layer.tile_param.tiles = a, repeats[a]
        x = layer.top[0]


@EMIT.register("Expand")
def expand(node, ctx):
    out = ctx.need_shape(node.outputs[0])
    blob = broadcast(ctx, ctx.blob(node.inputs[0]), ctx.need_shape(node.inputs[0]), out)
    _result(node, ctx, blob)


@EMIT.register("Identity")
def identity(node, ctx):
    """Left by canonicalization only where a graph output is another value (an input): a copy."""
    _result(node, ctx, ctx.blob(node.inputs[0]))

"""Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Pad, Slice, Split, Tile, Expand, Shape,
Size, EyeLike.

Where an output shape is static, reshaping ops reshape to it (a zero-dimensional one held as (1,)).
MXNet takes shapes, axes and pads as operator attributes: inputs that give them must be constants."""

import numpy as np

from ..codegen import EMIT, held_shape


def _reshape_to_output(node, ctx):
    shape = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", ctx.x(node.input(0)), shape=held_shape(shape)))


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    if axis == 1 and ctx.static_shape(node.outputs[0]) is None:
        ctx.assign(node, ctx.call("flatten", ctx.x(node.input(0))))
        return
    _reshape_to_output(node, ctx)


@EMIT.register("Reshape")
def reshape(node, ctx, allowzero=0):
    target = ctx.need_const(node, 1, "the target shape").astype(np.int64).tolist()
    if ctx.static_shape(node.outputs[0]) is not None:
        _reshape_to_output(node, ctx)
        return
    if allowzero and 0 in target:
        raise ctx.fail("Reshape with allowzero and a zero dimension makes an empty array; MXNet 1.x has none")
    # ONNX's 0 (copy) and -1 (infer) mean the same in MXNet's reshape
    ctx.assign(node, ctx.call("reshape", ctx.x(node.input(0)), shape=held_shape(target)))


def _axes(node, ctx, rank):
    if not node.input(1):
        return None
    return sorted(int(a) % rank for a in ctx.need_const(node, 1, "the axes").reshape(-1).tolist())


@EMIT.register("Squeeze")
def squeeze(node, ctx):
    x = node.input(0)
    rank = ctx.need_rank(x)
    axes = _axes(node, ctx, rank)
    if ctx.static_shape(node.outputs[0]) is not None:
        _reshape_to_output(node, ctx)
        return
    ctx.assign(node, ctx.call("squeeze", ctx.x(x), axis=tuple(axes) if axes else None))


@EMIT.register("Unsqueeze")
def unsqueeze(node, ctx):
    x = node.input(0)
    axes = _axes(node, ctx, ctx.need_rank(node.outputs[0]))
    if axes is None:
        raise ctx.fail("Unsqueeze without axes")
    if ctx.static_shape(node.outputs[0]) is not None or ctx.rank(x) == 0:
        _reshape_to_output(node, ctx)  # a zero-dimensional input (held as (1,)) needs the shape
        return
    out = ctx.x(x)
    for a in axes:
        out = ctx.temp(ctx.call("expand_dims", out, axis=a), "unsq")
    ctx.assign(node, ctx.call("identity", out))


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    rank = ctx.need_rank(node.input(0))
    if rank > 6:
        raise ctx.fail("MXNet transposes tensors of up to 6 axes, not %d" % rank)
    ctx.assign(node, ctx.call("transpose", ctx.x(node.input(0)), axes=tuple(int(p) for p in perm) if perm else None))


@EMIT.register("Concat")
def concat(node, ctx, axis=0):
    xs = [i for i in node.inputs if i]
    rank = ctx.need_rank(xs[0])
    ctx.assign(node, ctx.call("concat", *[ctx.x(i) for i in xs], dim=int(axis) % max(rank, 1)))


def _pad_layout(ctx, shape, padded):
    """(rank MXNet pads in, leading ones to add, permutation moving padded axes last) for a tensor
    of `shape` padded on axes `padded`: MXNet pads 4-D tensors on their last 2 axes, 5-D on 3."""
    rank = len(shape)
    target = max(rank, 4 if len(padded) <= 2 else 5)
    if target > 5:
        raise ctx.fail("MXNet pads 4-D and 5-D tensors only; this pads a %d-D tensor" % rank)
    lead = target - rank
    moved = [a + lead for a in padded]
    axes = list(range(target))
    free = target - len(moved)
    if all(a >= 2 for a in moved) or not moved:
        perm = axes
    else:
        perm = [a for a in axes if a not in moved] + moved
        if free < 2:
            raise ctx.fail("MXNet cannot pad %d axes of a %d-D tensor" % (len(padded), rank))
    return target, lead, perm


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    """Positive pads by MXNet's pad (padded axes moved last, small tensors given leading axes of
    one, and all moved back: exact); negative pads crop with a slice."""
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    pads = ctx.need_const(node, 1, "the pads").astype(np.int64).tolist()
    value = ctx.scalar(node.input(2)) if node.input(2) else 0.0
    if node.input(2) and value is None:
        raise ctx.fail("the pad value must be a constant for MXNet")
    axes = ctx.need_const(node, 3, "the axes").reshape(-1).tolist() if node.input(3) else list(range(rank))
    axes = [int(a) % rank for a in axes]
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begins[a], ends[a] = pads[i], pads[len(axes) + i]
    if mode not in ("constant", "edge", "reflect"):
        raise ctx.fail("pad mode %s has no MXNet equivalent" % mode)
    src = ctx.x(x)
    if min(begins + ends) < 0:  # crop first
        lo = [max(0, -b) for b in begins]
        hi = [d - max(0, -e) for d, e in zip(shape, ends)]
        src = ctx.temp(ctx.call("slice", src, begin=tuple(lo), end=tuple(hi)), "crop")
        shape = [h - lo_ for h, lo_ in zip(hi, lo)]
        begins, ends = [max(0, b) for b in begins], [max(0, e) for e in ends]
    padded = [a for a in range(rank) if begins[a] or ends[a]]
    if not padded:
        ctx.assign(node, ctx.call("identity", src))
        return
    if not ctx.is_float(x):
        ctx.need_float(x, "pad")
    target, lead, perm = _pad_layout(ctx, shape, padded)
    if lead:
        src = ctx.temp(ctx.call("reshape", src, shape=tuple([1] * lead + shape)), "wide")
    if perm != list(range(target)):
        src = ctx.temp(ctx.call("transpose", src, axes=tuple(perm)), "moved")
    width = []
    for a in perm:
        width += [begins[a - lead], ends[a - lead]] if a >= lead else [0, 0]
    fill = float(value or 0.0) if mode == "constant" else None
    out = ctx.temp(ctx.call("pad", src, mode=mode, pad_width=tuple(width), constant_value=fill), "padded")
    if perm != list(range(target)):
        out = ctx.temp(ctx.call("transpose", out, axes=tuple(int(i) for i in np.argsort(perm))), "back")
    if lead:
        out = ctx.call("reshape", out, shape=tuple(d + b + e for d, b, e in zip(shape, begins, ends)))
    ctx.assign(node, out if out.startswith("F.") else ctx.call("identity", out))


@EMIT.register("Slice")
def slice_(node, ctx):
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    starts = ctx.need_const(node, 1, "the starts").reshape(-1).tolist()
    ends = ctx.need_const(node, 2, "the ends").reshape(-1).tolist()
    axes = ctx.need_const(node, 3, "the axes").reshape(-1).tolist() if node.input(3) else list(range(len(starts)))
    steps = ctx.need_const(node, 4, "the steps").reshape(-1).tolist() if node.input(4) else [1] * len(starts)
    begin, end, step = [None] * rank, [None] * rank, [None] * rank
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = int(a) % rank
        dim = shape[a]
        if st > 0:
            s = min(max(s + dim if s < 0 else s, 0), dim)
            e = min(max(e + dim if e < 0 else e, 0), dim)
        else:
            s = min(max(s + dim if s < 0 else s, -1), dim - 1)
            e = min(max(e + dim if e < 0 else e, -1), dim - 1)
            e = None if e < 0 else e
        begin[a], end[a], step[a] = int(s), e if e is None else int(e), int(st)
    sliced = [a for a in range(rank) if begin[a] is not None]
    if rank > 5:  # MXNet's slice takes up to 5 axes; slice_axis any number, one axis, step 1
        if any(step[a] != 1 for a in sliced):
            raise ctx.fail("MXNet slices a %d-D tensor only with step 1" % rank)
        out = ctx.x(x)
        for a in sliced:
            out = ctx.temp(ctx.call("slice_axis", out, axis=a, begin=begin[a], end=end[a]), "cut")
        ctx.assign(node, ctx.call("identity", out))
        return
    ctx.assign(node, ctx.call("slice", ctx.x(x), begin=tuple(begin), end=tuple(end), step=tuple(step)))


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=None):
    x = node.input(0)
    shape = ctx.need_shape(x)
    axis = int(axis) % len(shape)
    if node.input(1):
        sizes = ctx.need_const(node, 1, "the split sizes").reshape(-1).tolist()
    else:
        n = num_outputs or len(node.outputs)
        chunk = -(-shape[axis] // n)
        sizes = [min(chunk, shape[axis] - i * chunk) for i in range(n)]
    start = 0
    for out, size in zip(node.outputs, sizes):
        if out:
            ctx.assign(node, ctx.call("slice_axis", ctx.x(x), axis=axis, begin=start, end=start + size), output=out)
        start += size


@EMIT.register("Tile")
def tile(node, ctx):
    reps = ctx.need_const(node, 1, "the repeats").astype(np.int64).reshape(-1).tolist()
    ctx.assign(node, ctx.call("tile", ctx.x(node.input(0)), reps=tuple(reps)))


@EMIT.register("Expand")
def expand(node, ctx):
    x = node.input(0)
    ctx.need_const(node, 1, "the shape")
    out = ctx.need_shape(node.outputs[0])
    src = ctx.x(x)
    shape = ctx.need_shape(x)
    if len(shape) < len(out):
        src = ctx.temp(ctx.call("reshape", src, shape=tuple([1] * (len(out) - len(shape)) + shape)), "r")
    ctx.assign(node, ctx.call("broadcast_to", src, shape=held_shape(out)))


@EMIT.register("Shape")
def shape_(node, ctx, start=0, end=None):
    """A shape known only at run time (a static one is folded into a constant by the broker)."""
    rank = ctx.need_rank(node.input(0))
    start = max(0, min(rank, start + rank if start < 0 else start))
    end = rank if end is None else max(0, min(rank, end + rank if end < 0 else end))
    if end <= start:
        raise ctx.fail("this Shape is empty; MXNet 1.x has no empty arrays")
    full = ctx.temp(ctx.call("shape_array", ctx.x(node.input(0))), "shape")
    ctx.assign(node, ctx.call("slice_axis", full, axis=0, begin=start, end=end))


@EMIT.register("Size")
def size(node, ctx):
    ctx.assign(node, ctx.call("size_array", ctx.x(node.input(0))))


@EMIT.register("EyeLike")
def eye_like(node, ctx, dtype=None, k=0):
    """The identity-like matrix of the input's static shape, as a constant."""
    rows, cols = ctx.need_shape(node.input(0))
    dt = ctx.dtype(node.outputs[0]) or np.float32
    ctx.assign(node, ctx.call("identity", ctx.param(node.outputs[0], np.eye(rows, cols, k=int(k), dtype=dt))))


@EMIT.register("ReverseSequence")
def reverse_sequence(node, ctx, batch_axis=1, time_axis=0):
    """MXNet's SequenceReverse takes time first, batch second: other layouts are swapped there."""
    x = node.input(0)
    rank = ctx.need_rank(x)
    batch_axis, time_axis = int(batch_axis) % rank, int(time_axis) % rank
    src = ctx.x(x)
    swapped = (time_axis, batch_axis) != (0, 1)
    if swapped:
        src = ctx.temp(ctx.call("swapaxes", src, dim1=0, dim2=1), "tn")
    lengths = ctx.call("cast", ctx.x(node.input(1)), dtype=ctx.held_dtype(x) if ctx.is_float(x) else "float32")
    out = ctx.call("SequenceReverse", src, lengths, use_sequence_length=True)
    if swapped:
        out = ctx.call("swapaxes", ctx.temp(out, "rev"), dim1=0, dim2=1)
    ctx.assign(node, out)

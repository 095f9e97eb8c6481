"""Reshape, Flatten, Concat, Split, Slice, Pad, Transpose, Squeeze, Unsqueeze, Tile, Expand, Gather and
the reductions. Shapes and axes lose the batch axis; an op that would move data across it is
refused."""

import numpy as np

from runners.common.codegen import lit
from runners.common.specs import pad_amounts

from ..emit import EMIT
from ._along import along_axis, picking
from .elementwise import operand

REDUCE = {
    "ReduceMean": "reduce_mean",
    "ReduceSum": "reduce_sum",
    "ReduceMax": "reduce_max",
    "ReduceMin": "reduce_min",
    "ReduceProd": "reduce_prod",
    "ReduceLogSumExp": "reduce_log_sum_exp",
    "ReduceL1": "reduce_l1",
    "ReduceL2": "reduce_l2",
    "ReduceSumSquare": "reduce_sum_square",
}


def _reshape_to_output(node, ctx, x):
    """A reshape keeps the batch axis. With batch 1 an IR reshape may drop it ([1,1,1,C] -> [C],
    as tf2onnx writes) or bring it back: the CNTK value keeps it, hidden from the IR's axes."""
    out = ctx.need_shape(node.outputs[0])
    src = ctx.need_shape(x)
    if x not in ctx.batched:
        ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out)))
        return
    if x in ctx.hidden:
        if out[0] == 1 and len(out) > 1:
            ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out[1:])), hidden=False)
        else:
            ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out)), hidden=True)
        return
    if out and out[0] == src[0]:
        ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out[1:])))
        return
    if src[0] == 1 and out:
        ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out)), hidden=True)
        return
    raise ctx.fail("a reshape that changes the batch axis (%s -> %s)" % (src, out))


@EMIT.register("Reshape")
def reshape(node, ctx, allowzero=0):
    _reshape_to_output(node, ctx, node.inputs[0])


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    x = node.inputs[0]
    if axis != 1 and ctx.is_batched(x):
        raise ctx.fail("Flatten at axis %d would mix the batch axis" % axis)
    _reshape_to_output(node, ctx, x)


@EMIT.register("Squeeze", "Unsqueeze")
def squeeze(node, ctx):
    _reshape_to_output(node, ctx, node.inputs[0])


@EMIT.register("Concat")
def concat(node, ctx, axis=0):
    xs = [n for n in node.inputs if n]
    anchor = [n for n in xs if ctx.is_batched(n)]
    anchor = anchor[0] if anchor else xs[0]
    parts = [operand(ctx, n, anchor) for n in xs]
    ctx.assign(node, "C.splice(%s, axis=%d)" % (", ".join(parts), ctx.axis(anchor, axis)))


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=0):
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    axis = axis + len(shape) if axis < 0 else axis
    c_axis = ctx.axis(x, axis)
    start = 0
    for out in node.outputs:
        size = ctx.need_shape(out)[axis]
        expr = ctx.call("slice", ctx.x(x), axis=c_axis, begin_index=start, end_index=start + size)
        ctx.assign(node, expr, output=out)
        start += size


@EMIT.register("Slice")
def slice_(node, ctx):
    """C.slice for steps above 1; reversing steps pick the entries by a 0/1 matrix."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    starts = list(ctx.need_const(node, 1, "the starts"))
    ends = list(ctx.need_const(node, 2, "the ends"))
    axes = list(ctx.need_const(node, 3, "the axes") if node.input(3) else range(len(starts)))
    steps = list(ctx.need_const(node, 4, "the steps") if node.input(4) else [1] * len(starts))
    c_axes, begins, finals, strides, picks = [], [], [], [], []
    for a, s, e, st in zip(axes, starts, ends, steps):
        a = int(a) % len(shape)
        positions = list(range(*slice(int(s), int(e), int(st)).indices(shape[a])))
        if not positions:
            raise ctx.fail("a Slice that leaves axis %d empty; CNTK tensors are not empty" % a)
        if positions == list(range(shape[a])):
            continue
        if st < 0:
            picks.append((a, positions))
            continue
        c_axes.append(ctx.axis(x, a))
        begins.append(positions[0])
        finals.append(positions[-1] + 1)
        strides.append(int(st))
    expr = ctx.x(x)
    if c_axes:
        expr = ctx.call("slice", expr, lit(c_axes), lit(begins), lit(finals), lit(strides))
    for a, positions in picks:
        expr = along_axis(ctx, ctx.temp(expr, "sliced"), x, a, picking(positions, shape[a]),
                          "%s_axis%d_picks" % (node.outputs[0], a))  # fmt: skip
    ctx.assign(node, expr if (c_axes or picks) else ctx.call("alias", expr))


@EMIT.register("Gather")
def gather(node, ctx, axis=0):
    """Constant indices along a static axis: a 0/1 matrix picks the entries, a reshape gives them
    the indices' shape. Computed indices into a constant table along its first axis (an embedding
    lookup): C.gather, negative indices counted from the end as ONNX does."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    axis = axis + len(shape) if axis < 0 else axis
    if ctx.const(node.inputs[1]) is None:
        _lookup(node, ctx, x, axis)
        return
    indices = np.asarray(ctx.need_const(node, 1, "the indices"))
    positions = [int(i) % shape[axis] for i in indices.reshape(-1)]
    picked = along_axis(ctx, ctx.x(x), x, axis, picking(positions, shape[axis]), node.outputs[0] + "_picks")
    out = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", ctx.temp(picked, "picked"), tuple(out[1:] if ctx.is_batched(x) else out)))


def _lookup(node, ctx, x, axis):
    table = ctx.const(x)
    if table is None or axis != 0:
        raise ctx.fail("a Gather of computed indices from %s; CNTK's gather reads a constant table along "
                       "its first axis" % ("a computed tensor" if table is None else "axis %d" % axis))  # fmt: skip
    ids = ctx.x(node.inputs[1])
    ids = ctx.temp(ctx.call("plus", ids, ctx.call("element_times", ctx.call("less", ids, lit(0.0)),
                                                  lit(float(table.shape[0])))), "indices")  # fmt: skip
    ctx.assign(node, ctx.call("gather", ctx.x(x, "parameter"), ids))


def _edge_pad(ctx, x, expr, axis, size, before, after):
    """Replicate the first `before` and last `after` entries along IR axis `axis`."""
    c_axis = ctx.axis(x, axis)
    parts = []
    if before:
        first = ctx.temp(ctx.call("slice", expr, axis=c_axis, begin_index=0, end_index=1), "first")
        parts += [first] * before
    parts.append(expr)
    if after:
        last = ctx.temp(ctx.call("slice", expr, axis=c_axis, begin_index=size - 1, end_index=size), "last")
        parts += [last] * after
    return ctx.temp("C.splice(%s, axis=%d)" % (", ".join(parts), c_axis), "edge%d" % axis)


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    rank = len(shape)
    begins, ends = pad_amounts(ctx, node, rank)
    value = ctx.need_const(node, 2, "the padding value") if node.input(2) else None
    if min(begins + ends) < 0:
        raise ctx.fail("negative pads (cropping) in a Pad")
    if mode not in ("constant", "reflect", "edge"):
        raise ctx.fail("Pad mode %r has no CNTK equivalent" % mode)
    padded = [a for a in range(rank) if begins[a] or ends[a]]
    if mode == "edge":
        expr = ctx.x(x)
        for a in padded:
            expr = _edge_pad(ctx, x, expr, a, shape[a], begins[a], ends[a])
        ctx.assign(node, ctx.call("alias", expr))
        return
    pattern = [(0, 0)] * len(ctx.static_dims(x))
    for a in padded:
        pattern[ctx.axis(x, a)] = (begins[a], ends[a])
    expr = ctx.call(
        "pad",
        ctx.x(x),
        pattern=pattern,
        mode="C.ops.REFLECT_PAD" if mode == "reflect" else None,
        constant_value=float(np.asarray(value).reshape(())) if value is not None and mode == "constant" else None,
    )
    ctx.assign(node, expr.replace("'C.ops.REFLECT_PAD'", "C.ops.REFLECT_PAD"))


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    perm = list(perm) if perm is not None else list(range(rank - 1, -1, -1))
    if not ctx.is_batched(x):
        ctx.assign(node, ctx.call("transpose", ctx.x(x), perm))
        return
    static = [p - 1 for p in perm if p != 0]
    if perm[0] == 0:
        ctx.assign(node, ctx.call("transpose", ctx.x(x), static))
        return
    if ctx.need_shape(x)[0] != 1:
        raise ctx.fail("a transpose that moves the batch axis")
    # batch 1 moved inward (an RNN's [seq, batch, ...] layout): per batch entry, the other axes
    # transposed and a size-1 axis put in: a reshape, the batch axis hidden (see _reshape_to_output)
    expr = ctx.x(x) if static == sorted(static) else ctx.temp(ctx.call("transpose", ctx.x(x), static), "transposed")
    ctx.assign(node, ctx.call("reshape", expr, tuple(ctx.need_shape(node.outputs[0]))), hidden=True)


@EMIT.register("Tile")
def tile(node, ctx):
    """Copies spliced along each repeated axis (np.tile's order)."""
    x = node.inputs[0]
    repeats = [int(r) for r in ctx.need_const(node, 1, "the repeats")]
    if 0 in repeats:
        raise ctx.fail("a Tile by 0; CNTK tensors are not empty")
    expr = ctx.x(x)
    for a, r in enumerate(repeats):
        if r > 1:
            expr = ctx.temp("C.splice(%s, axis=%d)" % (", ".join([expr] * r), ctx.axis(x, a)), "tiled%d" % a)
    ctx.assign(node, ctx.call("alias", expr))


@EMIT.register("Expand")
def expand(node, ctx):
    """x times ones of the output's shape (CNTK broadcasts)."""
    x = node.inputs[0]
    out = ctx.need_shape(node.outputs[0])
    shape = ctx.need_shape(x)
    if ctx.is_batched(x) and (len(out) != len(shape) or out[0] != shape[0]):
        raise ctx.fail("an Expand that moves or grows the batch axis (%s -> %s)" % (shape, out))
    ones = np.ones(out[1:] if ctx.is_batched(x) else out, np.float32)
    key = ctx.weight(node.outputs[0] + "_ones", ones)
    ctx.assign(node, ctx.call("element_times", ctx.x(x), key))


@EMIT.register(*sorted(REDUCE))
def reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    axes = [int(a) for a in ctx.need_const(node, 1, "the axes")] if node.input(1) else []
    if not axes:
        if noop_with_empty_axes:
            ctx.assign(node, ctx.call("alias", ctx.x(x)))
            return
        axes = list(range(rank))
    c_axes = tuple(ctx.axis(x, a) for a in axes)
    expr = ctx.call(REDUCE[node.op_type], ctx.x(x), axis=c_axes)
    if keepdims:
        ctx.assign(node, expr)
        return
    out = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", ctx.temp(expr, "reduced"), tuple(out[1:] if ctx.is_batched(x) else out)))

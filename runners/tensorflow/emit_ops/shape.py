"""Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Slice, Concat, Split, Gather, Expand, Tile, Cast.

A Transpose emits no code: it changes the layout the value is known to be stored in. Reshapes
read the stored tensor directly when that gives the same element order (e.g. after global
pooling), else they first bring it to the IR order."""

import numpy as np
from onnx import helper

from ..codegen import EMIT, channels_last, identity, inverse, lit

_CHECKED_SIZE = 1 << 22  # element-order checks run on index arrays up to this size


def _groups(in_shape, out_shape):
    """A reshape as consecutive groups of input axes and output axes with equal sizes
    ([([in axes], [out axes]), ...]). Axes of size 1 on both sides pair up (a batch of 1 stays an
    axis of its own); one on one side only joins the group before it."""
    groups, i, j = [], 0, 0
    n, m = len(in_shape), len(out_shape)
    while i < n or j < m:
        ones_in, ones_out = i < n and in_shape[i] == 1, j < m and out_shape[j] == 1
        if ones_in and ones_out:
            groups.append(([i], [j]))
            i, j = i + 1, j + 1
        elif ones_in or ones_out or i >= n or j >= m:
            if not groups:
                groups.append(([], []))
            if ones_in or j >= m:
                groups[-1][0].append(i)
                i += 1
            else:
                groups[-1][1].append(j)
                j += 1
        else:
            gi, gj, pa, pb = [i], [j], in_shape[i], out_shape[j]
            i, j = i + 1, j + 1
            while pa != pb and i <= n and j <= m:
                if pa < pb and i < n:
                    gi.append(i)
                    pa *= in_shape[i]
                    i += 1
                elif pb < pa and j < m:
                    gj.append(j)
                    pb *= out_shape[j]
                    j += 1
                else:
                    break
            groups.append((gi, gj))
    return groups


def _grouped_layout(in_shape, out_shape, layout):
    """The output layout that keeps the stored input's order of axis groups (a stored [batch, seq,
    heads, dim] reshaped to [seq, batch, heads * dim] stays batch first), or None."""
    if np.prod(in_shape) != np.prod(out_shape):
        return None
    groups = _groups(in_shape, out_shape)
    position = {a: k for k, a in enumerate(layout)}
    ordered = sorted(groups, key=lambda g: min((position[a] for a in g[0]), default=len(layout)))
    return tuple(a for _, outs in ordered for a in outs)


def _same_order(in_shape, layout, out_shape, out_layout):
    """True when the input stored in `layout` and the output stored in `out_layout` hold their
    elements in one order (the stored tensor reshapes into the stored output directly)."""
    if sorted(out_layout) != list(range(len(out_shape))):
        return False
    size = int(np.prod(in_shape))
    if size > _CHECKED_SIZE:  # too large to check: only orders that keep every non-1 axis in place
        return [a for a in layout if in_shape[a] != 1] == sorted(a for a in layout if in_shape[a] != 1) and [
            a for a in out_layout if out_shape[a] != 1
        ] == sorted(a for a in out_layout if out_shape[a] != 1)
    index = np.arange(size).reshape(in_shape)
    stored_in = np.transpose(index, layout).reshape(-1)
    stored_out = np.transpose(index.reshape(out_shape), out_layout).reshape(-1)
    return bool(np.array_equal(stored_in, stored_out))


def _reshape(node, ctx):
    """The stored tensor reshaped straight into a layout of the output that keeps its element
    order: its own axis groups' order, channels-last (for an input in the IR order, as a CNN's
    spatial values are), or the IR order; else the input brought to the IR order first. A reshape
    that keeps the stored batch axis is layers.Reshape/Flatten."""
    x = node.inputs[0]
    out_shape = ctx.need_shape(node.outputs[0])
    in_shape = ctx.need_shape(x)
    var, layout = ctx.any(x)
    rank = len(out_shape)
    for attempt in range(2):
        candidates = [_grouped_layout(in_shape, out_shape, layout), identity(rank)]
        if rank >= 3 and layout == identity(len(in_shape)):
            candidates.insert(0, channels_last(rank))
        chosen = [c for c in candidates if c is not None and _same_order(in_shape, layout, out_shape, c)]
        if chosen:
            break
        var, layout = ctx.x(x), identity(len(in_shape))
    out_layout = chosen[0]
    stored = [out_shape[a] for a in out_layout]
    stored_in = [in_shape[a] for a in layout]
    if stored == stored_in:
        ctx.alias(node, var, out_layout)
    elif stored[0] == stored_in[0] and len(stored) > 1:
        ctor = "layers.Flatten()" if len(stored) == 2 else "layers.Reshape(%s)" % lit(tuple(stored[1:]))
        ctx.layer(node, ctor, [var], out_layout)
    else:
        ctx.assign(node, "keras.ops.reshape(%s, %s)" % (var, lit(tuple(stored))), out_layout)


@EMIT.register("Reshape")
def reshape(node, ctx, allowzero=0):
    _reshape(node, ctx)


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    _reshape(node, ctx)


@EMIT.register("Squeeze")
def squeeze(node, ctx):
    _reshape(node, ctx)


@EMIT.register("Unsqueeze")
def unsqueeze(node, ctx):
    _reshape(node, ctx)


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    var, have = ctx.any(node.inputs[0])
    rank = len(have)
    perm = list(perm) if perm else list(reversed(range(rank)))
    q = [inverse(have)[perm[k]] for k in range(rank)]
    ctx.alias(node, var, inverse(q))


def _python_slice(start, end, step, dim):
    """ONNX Slice bounds (clamped, negatives from the end) as a Python slice of one axis."""
    if step > 0:
        start = min(max(start + dim if start < 0 else start, 0), dim)
        end = min(max(end + dim if end < 0 else end, 0), dim)
        if (start, end, step) == (0, dim, 1):
            return ":"
        return "%s:%s%s" % (start or "", "" if end == dim else end, "" if step == 1 else ":%d" % step)
    start = min(max(start + dim if start < 0 else start, -1), dim - 1)
    end = min(max(end + dim if end < 0 else end, -1), dim - 1)
    return "%s:%s:%d" % (start, "" if end < 0 else end, step)


@EMIT.register("Slice")
def slice_(node, ctx):
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    var, layout = ctx.any(x)
    rank = len(layout)
    starts = ctx.need_const(node, 1, "the starts").tolist()
    ends = ctx.need_const(node, 2, "the ends").tolist()
    axes = ctx.const(node.input(3)).tolist() if node.input(3) else list(range(len(starts)))
    steps = ctx.const(node.input(4)).tolist() if node.input(4) else [1] * len(starts)
    if 0 in steps:
        raise ctx.fail("a Slice step of 0 is invalid")
    per_axis = [":"] * rank
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = int(axis) % rank
        per_axis[axis] = _python_slice(int(start), int(end), int(step), shape[axis])
    stored = [per_axis[a] for a in layout]
    ctx.assign(node, "%s[%s]" % (var, ", ".join(stored)), layout)


@EMIT.register("Concat")
def concat(node, ctx, axis=0):
    names = [i for i in node.inputs if i]
    tensors = [n for n in names if ctx.const(n) is None]
    rank = ctx.need_rank(node.outputs[0])
    layout = ctx.any(tensors[0])[1] if tensors else identity(rank)
    axis = axis % rank
    args = [ctx.x(n, layout) if ctx.const(n) is None else ctx.constant(n, layout) for n in names]
    if len(tensors) == len(names):
        ctx.layer(node, "layers.Concatenate(axis=%d)" % layout.index(axis), args, layout)
    else:
        ctx.assign(node, "keras.ops.concatenate([%s], axis=%d)" % (", ".join(args), layout.index(axis)), layout)


@EMIT.register("Cast")
def cast(node, ctx, to=1, saturate=1):
    var, layout = ctx.any(node.inputs[0])
    dtype = helper.tensor_dtype_to_np_dtype(to).name
    ctx.assign(node, "keras.ops.cast(%s, %r)" % (var, dtype), layout)


def _split_sizes(node, ctx, axis, num_outputs):
    dim = ctx.need_shape(node.inputs[0])[axis]
    if node.input(1):
        return [int(v) for v in ctx.need_const(node, 1, "the split sizes")]
    num = int(num_outputs or len(node.outputs))
    chunk = -(-dim // num)
    return [min(chunk, dim - i * chunk) for i in range(num)]


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=None):
    var, layout = ctx.any(node.inputs[0])
    axis = axis % len(layout)
    sizes = _split_sizes(node, ctx, axis, num_outputs)
    if len(set(sizes)) == 1:
        sections = str(len(sizes))
    else:
        sections = lit([int(v) for v in np.cumsum(sizes)[:-1]])
    ctx.assign(node, "keras.ops.split(%s, %s, axis=%d)" % (var, sections, layout.index(axis)), layout)


@EMIT.register("Gather")
def gather(node, ctx, axis=0):
    """Rows of a constant table picked by ids computed at run time are a layers.Embedding (which,
    like PyTorch's, rejects the negative ids ONNX also allows: they raise when the model runs)."""
    data, idx = node.inputs
    table, chosen = ctx.const(data), ctx.const(idx)
    if chosen is not None:
        _gather_constant_indices(node, ctx, axis, chosen)
        return
    out_rank = ctx.need_rank(node.outputs[0])
    if table is not None and axis == 0 and table.ndim == 2 and table.dtype.kind == "f":
        ctor = "layers.Embedding(%d, %d)" % table.shape
        ctx.layer(node, ctor, [ctx.x(idx)], identity(out_rank), params=[table])
        return
    source = ctx.constant(data) if table is not None else ctx.x(data)
    ctx.assign(node, "keras.ops.take(%s, %s, axis=%d)" % (source, ctx.x(idx), axis % ctx.need_rank(data)),
               identity(out_rank))  # fmt: skip


def _gather_constant_indices(node, ctx, axis, chosen):
    """Indices known: one index drops the axis (a Python index), a list keeps it in place
    (keras.ops.take in the stored layout), more dimensions go through the IR order."""
    x = node.inputs[0]
    var, layout = ctx.any(x)
    rank = len(layout)
    axis = axis % rank
    dim = ctx.need_shape(x)[axis]
    chosen = np.where(chosen < 0, chosen + dim, chosen).astype(np.int64)
    p = layout.index(axis)
    if chosen.ndim == 0:
        index = [":"] * rank
        index[p] = str(int(chosen))
        kept = tuple(a - (a > axis) for a in layout if a != axis)
        ctx.assign(node, "%s[%s]" % (var, ", ".join(index)), kept)
    elif chosen.ndim == 1:
        ctx.assign(node, "keras.ops.take(%s, %s, axis=%d)" % (var, lit(chosen.tolist()), p), layout)
    else:
        expr = "keras.ops.take(%s, %s, axis=%d)" % (ctx.x(x), lit(chosen.tolist()), axis)
        ctx.assign(node, expr, identity(ctx.need_rank(node.outputs[0])))


@EMIT.register("Expand")
def expand(node, ctx):
    shape = ctx.need_shape(node.outputs[0])
    var, layout = ctx.any(node.inputs[0])
    if len(layout) != len(shape):  # numpy's broadcasting aligns the lower rank right, in the IR order
        var, layout = ctx.x(node.inputs[0]), identity(len(shape))
    ctx.assign(node, "keras.ops.broadcast_to(%s, %s)" % (var, lit(tuple(shape[a] for a in layout))), layout)


@EMIT.register("Tile")
def tile(node, ctx):
    repeats = [int(v) for v in ctx.need_const(node, 1, "the repeats")]
    var, layout = ctx.any(node.inputs[0])
    ctx.assign(node, "keras.ops.tile(%s, %s)" % (var, lit([repeats[a] for a in layout])), layout)

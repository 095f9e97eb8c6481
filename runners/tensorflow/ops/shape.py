"""Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Slice, Concat, Cast, reductions.

A Transpose emits no code: it changes the layout the value is known to be stored in. Reshapes
read the stored tensor directly when that gives the same element order (e.g. after global
pooling), else they first bring it to the IR order."""

from onnx import helper

from ..codegen import EMIT, channels_last, identity, inverse, lit


def _order_compatible(shape, layout):
    axes = [a for a in layout if shape[a] != 1]
    return axes == sorted(axes)


def _reshape(node, ctx):
    x = node.inputs[0]
    out_shape = ctx.need_shape(node.outputs[0])
    in_shape = ctx.need_shape(x)
    var, layout = ctx.any(x)
    if not _order_compatible(in_shape, layout):
        var, layout = ctx.x(x), identity(len(in_shape))
    # the stored elements are in IR order: reshape them straight into the output's preferred layout
    # where that layout keeps the IR's element order (axes of size 1 aside), else into the IR order
    out_layout = channels_last(len(out_shape)) if len(out_shape) >= 3 else identity(len(out_shape))
    if not _order_compatible(out_shape, out_layout):
        out_layout = identity(len(out_shape))
    stored = [out_shape[a] for a in out_layout]
    if stored == [in_shape[a] for a in layout]:
        ctx.alias(node, var, out_layout)
    elif out_shape[0] == in_shape[0]:
        ctor = "layers.Flatten()" if len(out_shape) == 2 else "layers.Reshape(%s)" % lit(tuple(stored[1:]))
        ctx.layer(node, ctor, [var], out_layout)
    else:
        ctx.assign(node, "keras.ops.reshape(%s, %s)" % (var, lit(tuple(stored))), out_layout)


@EMIT.register("Reshape", since=14)
def reshape(node, ctx, allowzero=0):
    _reshape(node, ctx)


@EMIT.register("Flatten", since=13)
def flatten(node, ctx, axis=1):
    _reshape(node, ctx)


@EMIT.register("Squeeze", since=13)
def squeeze(node, ctx):
    _reshape(node, ctx)


@EMIT.register("Unsqueeze", since=13)
def unsqueeze(node, ctx):
    _reshape(node, ctx)


@EMIT.register("Transpose", since=13)
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


@EMIT.register("Slice", since=13)
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


@EMIT.register("Concat", since=13)
def concat(node, ctx, axis=0):
    names = [i for i in node.inputs if i]
    tensors = [n for n in names if ctx.const(n) is None]
    rank = ctx.rank(node.outputs[0])
    layout = ctx.any(tensors[0])[1] if tensors else identity(rank)
    axis = axis % rank
    args = [ctx.x(n, layout) if ctx.const(n) is None else ctx.constant(n, layout) for n in names]
    if len(tensors) == len(names):
        ctx.layer(node, "layers.Concatenate(axis=%d)" % layout.index(axis), args, layout)
    else:
        ctx.assign(node, "keras.ops.concatenate([%s], axis=%d)" % (", ".join(args), layout.index(axis)), layout)


@EMIT.register("Cast", since=13)
def cast(node, ctx, to=1, saturate=1):
    var, layout = ctx.any(node.inputs[0])
    dtype = helper.tensor_dtype_to_np_dtype(to).name
    ctx.assign(node, "keras.ops.cast(%s, %r)" % (var, dtype), layout)


def _reduce(node, ctx, fn, keepdims, noop_with_empty_axes=0):
    x = node.inputs[0]
    var, layout = ctx.any(x)
    rank = len(layout)
    axes_c = ctx.const(node.input(1)) if node.input(1) else None
    if node.input(1) and axes_c is None:
        raise ctx.fail("the reduction axes must be constants")
    axes = sorted(int(a) % rank for a in (axes_c if axes_c is not None else range(rank)))
    phys = sorted(layout.index(a) for a in axes)
    if fn == "mean" and rank > 2 and axes == list(range(2, rank)):
        cl = channels_last(rank)
        ctor = "layers.GlobalAveragePooling%dD(%s)" % (rank - 2, "keepdims=True" if keepdims else "")
        ctx.layer(node, ctor, [ctx.x(x, cl)], cl if keepdims else identity(2))
        return
    expr = "keras.ops.%s(%s, axis=%s, keepdims=%s)" % (fn, var, lit(tuple(phys)), lit(bool(keepdims)))
    if keepdims:
        ctx.assign(node, expr, layout)
        return
    kept = [a for a in range(rank) if a not in axes]
    new_index = {a: i for i, a in enumerate(kept)}
    ctx.assign(node, expr, tuple(new_index[a] for a in layout if a in new_index))


@EMIT.register("ReduceMean", since=18)
def reduce_mean(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "mean", keepdims)


@EMIT.register("ReduceMax", since=18)
def reduce_max(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "max", keepdims)


@EMIT.register("ReduceSum", since=13)
def reduce_sum(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "sum", keepdims)

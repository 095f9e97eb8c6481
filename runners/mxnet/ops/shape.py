"""Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Pad, Slice, Split, Tile, Expand, Gather.

Shapes in the IR are static, so reshaping ops take the inferred output shape."""

import numpy as np

from ..codegen import EMIT


def _reshape_to_output(node, ctx):
    shape = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", ctx.x(node.input(0)), shape=tuple(shape)))


@EMIT.register("Flatten", since=13)
def flatten(node, ctx, axis=1):
    if axis == 1:
        ctx.assign(node, ctx.call("flatten", ctx.x(node.input(0))))
    else:
        _reshape_to_output(node, ctx)


@EMIT.register("Reshape", since=14)
def reshape(node, ctx, allowzero=0):
    target = ctx.const(node.input(1))
    if ctx.shape(node.outputs[0]) is None and target is not None and not allowzero:
        # ONNX's 0 (copy) and -1 (infer) mean the same in MXNet's reshape
        ctx.assign(node, ctx.call("reshape", ctx.x(node.input(0)), shape=tuple(int(d) for d in target)))
        return
    _reshape_to_output(node, ctx)


@EMIT.register("Squeeze", "Unsqueeze", since=13)
def squeeze(node, ctx):
    _reshape_to_output(node, ctx)


@EMIT.register("Transpose", since=13)
def transpose(node, ctx, perm=None):
    ctx.assign(node, ctx.call("transpose", ctx.x(node.input(0)), axes=tuple(perm) if perm else None))


@EMIT.register("Concat", since=13)
def concat(node, ctx, axis=0):
    xs = [ctx.x(i) for i in node.inputs if i]
    ctx.assign(node, ctx.call("concat", *xs, dim=axis))


@EMIT.register("Pad", since=18)
def pad(node, ctx, mode="constant"):
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    pads = ctx.need_const(1, "the pads").astype(np.int64).tolist()
    value = ctx.scalar(node.input(2)) if node.input(2) else 0.0
    axes = ctx.const(node.input(3)) if node.input(3) else None
    axes = [int(a) % rank for a in axes] if axes is not None else list(range(rank))
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begins[a], ends[a] = pads[i], pads[len(axes) + i]
    padded = [a for a in range(rank) if begins[a] or ends[a]]
    if rank not in (4, 5) or len(padded) > rank - 2 or min(begins + ends) < 0:
        raise ctx.fail("MXNet pads 4-D and 5-D tensors on at most %d axes, by non-negative amounts" % (rank - 2))
    mode = {"constant": "constant", "edge": "edge", "reflect": "reflect"}.get(mode)
    if mode is None:
        raise ctx.fail("pad mode has no MXNet equivalent")
    # MXNet pads the trailing (spatial) axes only: padded leading axes (an NHWC tensor from Keras)
    # are moved behind the others, padded, and moved back; both transposes are exact.
    identity = list(range(rank))
    perm = [a for a in identity if a not in padded] + padded if padded and padded[0] < 2 else identity
    src = ctx.x(x)
    if perm != identity:
        src = ctx.call("transpose", src, axes=tuple(perm))
    width = []
    for a in perm:
        width += [begins[a], ends[a]]
    fill = float(value or 0.0) if mode == "constant" else None
    expr = ctx.call("pad", src, mode=mode, pad_width=tuple(width), constant_value=fill)
    if perm != identity:
        expr = ctx.call("transpose", expr, axes=tuple(int(i) for i in np.argsort(perm)))
    ctx.assign(node, expr)


@EMIT.register("Slice", since=13)
def slice_(node, ctx):
    x = node.input(0)
    shape = ctx.need_shape(x)
    rank = len(shape)
    starts = ctx.need_const(1, "the starts").tolist()
    ends = ctx.need_const(2, "the ends").tolist()
    axes = ctx.const(node.input(3)).tolist() if node.input(3) else list(range(len(starts)))
    steps = ctx.const(node.input(4)).tolist() if node.input(4) else [1] * len(starts)
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
        begin[a], end[a], step[a] = s, e, st
    ctx.assign(node, ctx.call("slice", ctx.x(x), begin=tuple(begin), end=tuple(end), step=tuple(step)))


@EMIT.register("Split", since=18)
def split(node, ctx, axis=0, num_outputs=None):
    x = node.input(0)
    shape = ctx.need_shape(x)
    axis = axis % len(shape)
    sizes = ctx.const(node.input(1)).tolist() if node.input(1) else None
    if sizes is None:
        n = num_outputs or len(node.outputs)
        chunk = -(-shape[axis] // n)
        sizes = [min(chunk, shape[axis] - i * chunk) for i in range(n)]
    start = 0
    for out, size in zip(node.outputs, sizes):
        ctx.assign(node, ctx.call("slice_axis", ctx.x(x), axis=axis, begin=start, end=start + size), output=out)
        start += size


@EMIT.register("Tile", since=13)
def tile(node, ctx):
    reps = ctx.need_const(1, "the repeats").astype(np.int64).tolist()
    ctx.assign(node, ctx.call("tile", ctx.x(node.input(0)), reps=tuple(reps)))


@EMIT.register("Expand", since=13)
def expand(node, ctx):
    x = node.input(0)
    out = ctx.need_shape(node.outputs[0])
    src = ctx.x(x)
    shape = ctx.need_shape(x)
    if len(shape) < len(out):
        src = ctx.temp(ctx.call("reshape", src, shape=tuple([1] * (len(out) - len(shape)) + shape)), "r")
    ctx.assign(node, ctx.call("broadcast_to", src, shape=tuple(out)))


@EMIT.register("Gather", since=13)
def gather(node, ctx, axis=0):
    x = node.input(0)
    index = ctx.need_const(1, "the indices")
    shape = ctx.need_shape(x)
    axis = axis % len(shape)
    idx = np.where(index < 0, index + shape[axis], index).astype(np.int64)
    w = ctx.param(node.input(1) + "_positive", idx.astype(np.float32))
    ctx.assign(node, ctx.call("take", ctx.x(x), w, axis=axis))


def _axes(node, ctx, axes):
    if len(node.inputs) > 1 and node.input(1):
        axes = ctx.need_const(1, "the axes").tolist()
    return tuple(int(a) for a in axes) if axes else None


@EMIT.register("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", since=18)
def reduce(node, ctx, keepdims=1, noop_with_empty_axes=0, axes=None):
    op = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min"}[node.op_type]
    ax = _axes(node, ctx, axes)
    if ax is None and noop_with_empty_axes:
        ctx.assign(node, ctx.call("identity", ctx.x(node.input(0))))
        return
    ctx.assign(node, ctx.call(op, ctx.x(node.input(0)), axis=ax, keepdims=bool(keepdims)))


@EMIT.register("Resize", since=13)
def resize(
    node, ctx, mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor", **_
):
    x = node.input(0)
    shape = ctx.need_shape(x)
    out = ctx.need_shape(node.outputs[0])
    if len(shape) != 4 or shape[:2] != out[:2]:
        raise ctx.fail("only 2-D spatial resizing is supported")
    if mode == "nearest":
        scale = out[2] // shape[2]
        if (
            out[2] != shape[2] * scale
            or out[3] != shape[3] * scale
            or coordinate_transformation_mode == "align_corners"
        ):
            raise ctx.fail("nearest resize by a non-integer or unequal scale has no MXNet operator")
        ctx.assign(node, ctx.call("UpSampling", ctx.x(x), scale=scale, sample_type="nearest"))
        return
    if mode == "linear" and coordinate_transformation_mode in ("align_corners", "half_pixel", "pytorch_half_pixel"):
        ctx.assign(
            node,
            ctx.call(
                "contrib.BilinearResize2D",
                ctx.x(x),
                height=out[2],
                width=out[3],
                align_corners=coordinate_transformation_mode == "align_corners",
            ),
        )
        return
    raise ctx.fail("Resize mode %s with %s coordinates is not supported" % (mode, coordinate_transformation_mode))

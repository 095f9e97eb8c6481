"""Reshape, Flatten, Concat, Slice, Pad, Transpose, Squeeze, Unsqueeze and the reductions. Shapes
and axes lose the batch axis; an op that would move data across it is refused."""

import numpy as np

from runners.common.codegen import lit

from . import EMIT

REDUCE = {
    "ReduceMean": "reduce_mean",
    "ReduceSum": "reduce_sum",
    "ReduceMax": "reduce_max",
    "ReduceMin": "reduce_min",
    "ReduceProd": "reduce_prod",
    "ReduceLogSumExp": "reduce_log_sum_exp",
}


def _reshape_to_output(node, ctx, x):
    """A reshape keeps the batch axis. With batch 1 an IR reshape may drop it ([1,1,1,C] -> [C],
    as tf2onnx writes) or bring it back: the CNTK value keeps it, hidden from the IR's axes."""
    out = ctx.need_shape(node.outputs[0])
    src = ctx.need_shape(x)
    if x in ctx.hidden:
        if out[0] == 1 and len(out) > 1:
            ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out[1:])), hidden=False)
        else:
            ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out)), hidden=True)
        return
    if out[0] == src[0]:
        ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out[1:])))
        return
    if src[0] == 1 and out:
        ctx.assign(node, ctx.call("reshape", ctx.x(x), tuple(out)), hidden=True)
        return
    raise ctx.fail("a reshape that changes the batch axis (%s -> %s)" % (src, out))


@EMIT.register("Reshape", since=14)
def reshape(node, ctx, allowzero=0):
    _reshape_to_output(node, ctx, node.input(0))


@EMIT.register("Flatten", since=13)
def flatten(node, ctx, axis=1):
    x = node.input(0)
    if axis != 1:
        raise ctx.fail("Flatten at axis %d would mix the batch axis" % axis)
    ctx.assign(node, ctx.call("reshape", ctx.x(x), (-1,)))


@EMIT.register("Squeeze", "Unsqueeze", since=13)
def squeeze(node, ctx):
    _reshape_to_output(node, ctx, node.input(0))


@EMIT.register("Concat", since=13)
def concat(node, ctx, axis=0):
    xs = [n for n in node.inputs if n]
    ctx.assign(node, "C.splice(%s, axis=%d)" % (", ".join(ctx.x(n) for n in xs), ctx.axis(xs[0], axis)))


@EMIT.register("Slice", since=13)
def slice_(node, ctx):
    x = node.input(0)
    shape = ctx.need_shape(x)
    starts = list(ctx.need_const(1, "starts"))
    ends = list(ctx.need_const(2, "ends"))
    axes = list(ctx.const(node.input(3)) if node.input(3) else range(len(starts)))
    steps = list(ctx.const(node.input(4)) if node.input(4) else [1] * len(starts))
    c_axes, begins, finals, strides = [], [], [], []
    for a, s, e, st in zip(axes, starts, ends, steps):
        a = int(a) + len(shape) if a < 0 else int(a)
        dim = shape[a]
        s = max(0, min(int(s) + dim if s < 0 else int(s), dim))
        e = max(0, min(int(e) + dim if e < 0 else int(e), dim))
        if st <= 0:
            raise ctx.fail("slices with negative steps have no CNTK operator")
        if (s, e, st) == (0, dim, 1):
            continue
        c_axes.append(ctx.axis(x, a))
        begins.append(s)
        finals.append(e)
        strides.append(int(st))
    if not c_axes:
        ctx.assign(node, ctx.call("alias", ctx.x(x)))
        return
    ctx.assign(node, ctx.call("slice", ctx.x(x), lit(c_axes), lit(begins), lit(finals), lit(strides)))


@EMIT.register("Pad", since=18)
def pad(node, ctx, mode="constant"):
    x = node.input(0)
    rank = ctx.rank(x)
    pads = [int(p) for p in ctx.need_const(1, "pads")]
    value = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(3):
        raise ctx.fail("Pad with axes is not supported")
    if mode not in ("constant", "reflect"):
        raise ctx.fail("Pad mode %r has no CNTK equivalent" % mode)
    if pads[0] or pads[rank]:
        raise ctx.fail("padding the batch axis")
    pattern = [(pads[i], pads[i + rank]) for i in range(1, rank)]
    expr = ctx.call(
        "pad",
        ctx.x(x),
        pattern=pattern,
        mode="C.ops.REFLECT_PAD" if mode == "reflect" else None,
        constant_value=float(np.asarray(value).reshape(())) if value is not None and mode == "constant" else None,
    )
    ctx.assign(node, expr.replace("'C.ops.REFLECT_PAD'", "C.ops.REFLECT_PAD"))


@EMIT.register("Transpose", since=13)
def transpose(node, ctx, perm=None):
    x = node.input(0)
    rank = ctx.rank(x)
    perm = list(perm) if perm is not None else list(range(rank - 1, -1, -1))
    if perm[0] != 0:
        raise ctx.fail("a transpose that moves the batch axis")
    ctx.assign(node, ctx.call("transpose", ctx.x(x), [p - 1 for p in perm[1:]]))


@EMIT.register(*sorted(REDUCE), since=18)
def reduce(node, ctx, keepdims=1, noop_with_empty_axes=0):
    x = node.input(0)
    rank = ctx.rank(x)
    axes = list(ctx.const(node.input(1))) if node.input(1) else list(range(rank))
    c_axes = tuple(ctx.axis(x, int(a)) for a in axes)
    expr = ctx.call(REDUCE[node.op_type], ctx.x(x), axis=c_axes)
    if keepdims:
        ctx.assign(node, expr)
        return
    out = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", ctx.temp(expr, "reduced"), tuple(out[1:])))

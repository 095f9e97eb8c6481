"""Gather (and embedding lookups), GatherElements, GatherND, ScatterND, ScatterElements, OneHot,
Trilu.

Element-wise gathers and scatters become MXNet's gather_nd/scatter_nd with one coordinate grid per
axis (constants from the static shapes) and the indices on the gathered axis. Negative indices
count from the end: constants are made positive here, computed ones by a modulo."""

import numpy as np

from ..codegen import EMIT, held_shape


def _positive_index(ctx, node, i, dim):
    """Input `i` (indices into an axis of `dim`) as an expression of non-negative indices, and its shape."""
    name = node.input(i)
    value = ctx.const(name)
    if value is not None:
        fixed = np.where(value < 0, value + dim, value).astype(np.int64)
        return ctx.param(name + "_positive", fixed), list(value.shape)
    wrap = ctx.param(name + "_dim", np.array([dim], dtype=ctx.dtype(name) or np.int64))
    index = ctx.temp(ctx.call("broadcast_mod", "(%s + %d)" % (ctx.x(name), dim), wrap), "index")
    return index, ctx.need_shape(name)


def _axis_index(node, ctx, axis):
    """(data shape, axis made non-negative, non-negative index expression, index shape)."""
    shape = ctx.need_shape(node.input(0))
    axis = int(axis) % len(shape)
    index, ishape = _positive_index(ctx, node, 1, shape[axis])
    return shape, axis, index, ishape


@EMIT.register("Gather")
def gather(node, ctx, axis=0):
    _, axis, index, ishape = _axis_index(node, ctx, axis)
    expr = ctx.call("take", ctx.x(node.input(0)), index, axis=axis)
    if not ishape:  # a scalar index (held as (1,)) removes the axis
        expr = ctx.call("reshape", ctx.temp(expr, "taken"), shape=held_shape(ctx.need_shape(node.outputs[0])))
    ctx.assign(node, expr)


def _grid(ctx, node, shape, axis, index):
    """gather_nd/scatter_nd coordinates (rank, *shape): aranges on every axis, `index` on `axis`."""
    coords = []
    for a in range(len(shape)):
        if a == axis:
            coords.append(ctx.call("cast", index, dtype="int64"))
            continue
        grid = np.broadcast_to(np.arange(shape[a]).reshape([-1 if b == a else 1 for b in range(len(shape))]), shape)
        coords.append(ctx.param("%s_axis%d" % (node.outputs[0], a), grid.astype(np.int64)))
    return ctx.temp(ctx.call("stack", *coords, axis=0), "coords")


@EMIT.register("GatherElements")
def gather_elements(node, ctx, axis=0):
    _, axis, index, ishape = _axis_index(node, ctx, axis)
    ctx.assign(node, ctx.call("gather_nd", ctx.x(node.input(0)), _grid(ctx, node, ishape, axis, index)))


def _nd_coords(ctx, node, i, shape):
    """ScatterND/GatherND indices (..., k) as MXNet's (k, ...) of non-negative coordinates."""
    name = node.input(i)
    value = ctx.const(name)
    if value is not None:
        k = value.shape[-1]
        dims = np.array(shape[:k], dtype=np.int64)
        fixed = np.where(value < 0, value + dims, value).astype(np.int64)
        return ctx.param(name + "_coords", np.moveaxis(fixed, -1, 0).copy())
    ishape = ctx.need_shape(name)
    k = ishape[-1]
    dims = ctx.param(name + "_dims", np.array(shape[:k], dtype=ctx.dtype(name) or np.int64))
    fixed = ctx.temp(ctx.call("broadcast_mod", ctx.call("broadcast_add", ctx.x(name), dims), dims), "index")
    perm = (len(ishape) - 1,) + tuple(range(len(ishape) - 1))
    return ctx.temp(ctx.call("transpose", fixed, axes=perm), "coords")


@EMIT.register("GatherND")
def gather_nd(node, ctx, batch_dims=0):
    if batch_dims:
        raise ctx.fail("GatherND with batch_dims=%d is not converted to MXNet" % batch_dims)
    x = node.input(0)
    coords = _nd_coords(ctx, node, 1, ctx.need_shape(x))
    ctx.assign(node, ctx.call("gather_nd", ctx.x(x), coords))


def _scatter(node, ctx, coords, updates, reduction):
    """data with `updates` written at `coords`: where(scattered mask, scattered updates, data)."""
    if reduction != "none":
        raise ctx.fail("%s with reduction=%s is not converted to MXNet" % (node.op_type, reduction))
    data = node.input(0)
    shape = held_shape(ctx.need_shape(data))
    ones = ctx.call("ones_like", updates)
    mask = ctx.temp(ctx.call("scatter_nd", ones, coords, shape=shape), "mask")
    values = ctx.temp(ctx.call("scatter_nd", updates, coords, shape=shape), "values")
    ctx.assign(node, ctx.call("where", mask, values, ctx.x(data)))


@EMIT.register("ScatterND")
def scatter_nd(node, ctx, reduction="none"):
    coords = _nd_coords(ctx, node, 1, ctx.need_shape(node.input(0)))
    _scatter(node, ctx, coords, ctx.x(node.input(2)), reduction)


@EMIT.register("ScatterElements")
def scatter_elements(node, ctx, axis=0, reduction="none"):
    _, axis, index, ishape = _axis_index(node, ctx, axis)
    _scatter(node, ctx, _grid(ctx, node, ishape, axis, index), ctx.x(node.input(2)), reduction)


@EMIT.register("OneHot")
def one_hot(node, ctx, axis=-1):
    indices = node.input(0)
    depth = int(np.asarray(ctx.need_const(node, 1, "the depth")).reshape(-1)[0])
    off, on = [float(v) for v in ctx.need_const(node, 2, "the values").reshape(-1)[:2]]
    rank = ctx.need_rank(indices) + 1
    axis = int(axis) % rank
    dtype = ctx.held_dtype(node.outputs[0])
    index = ctx.temp(ctx.call("broadcast_mod", "(%s + %d)" % (ctx.x(indices), depth),
                              ctx.param(node.outputs[0] + "_depth", np.array([depth], dtype=ctx.dtype(indices))
                                        )), "index")  # fmt: skip
    hot = ctx.temp(ctx.call("one_hot", index, depth=depth, on_value=on, off_value=off, dtype=dtype), "hot")
    if axis == rank - 1:
        ctx.assign(node, ctx.call("identity", hot))
        return
    perm = list(range(axis)) + [rank - 1] + list(range(axis, rank - 1))
    ctx.assign(node, ctx.call("transpose", hot, axes=tuple(perm)))


@EMIT.register("Trilu")
def trilu(node, ctx, upper=1):
    x = node.input(0)
    shape = ctx.need_shape(x)
    k = int(ctx.need_const(node, 1, "k").reshape(-1)[0]) if node.input(1) else 0
    rows, cols = shape[-2:]
    keep = np.triu(np.ones((rows, cols), dtype=np.uint8), k) if upper else np.tril(np.ones((rows, cols), np.uint8), k)
    mask = ctx.param(node.outputs[0] + "_mask", np.broadcast_to(keep, shape).copy())
    src = ctx.x(x)
    ctx.assign(node, ctx.call("where", mask, src, ctx.call("zeros_like", src)))

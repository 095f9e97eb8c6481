"""Flatten, Reshape, Squeeze, Unsqueeze, Transpose between [N, C, H, W] and [N, F] values, reshapes
through values of other ranks (one layer from the last value the layout holds), and the Reshape ->
Transpose -> Reshape chains (ShuffleNet's channel shuffle) whose moved axes fit in (C, H, W).

In CoreML's rank-5 layout an [N, F] value is the blob (F, 1, 1), so [N, C, 1, 1] <-> [N, C] needs no
layer; [N, C, H, W] -> [N, C*H*W] is a channel-first flatten layer and [N, ...] -> [N, C, H, W] a
channel-first reshape layer (both keep the row-major order of (C, H, W)).
"""

from runners.common.emit_graph import attributes

from ..context import EMIT

SHAPE_HINT = "convert to an ML Program instead (-om model.mlpackage), which holds values of any rank"


def reshape_blob(node, ctx, src, src_shape, out, out_shape, suffix=""):
    """Blob `src` (IR shape src_shape) as `out` (IR shape out_shape, same batch and size)."""
    if len(src_shape) not in (2, 4) or len(out_shape) not in (2, 4) or src_shape[0] != out_shape[0]:
        raise ctx.fail(
            "reshape %s -> %s: CoreML's classic layout keeps the batch and holds [N, C, H, W] or [N, F] values"
            % (src_shape, out_shape),
            hint=SHAPE_HINT,
        )
    chw_x = list(src_shape[1:]) + [1] * (4 - len(src_shape))
    chw_y = list(out_shape[1:]) + [1] * (4 - len(out_shape))
    if chw_x == chw_y:
        return src
    if len(out_shape) == 2:
        ctx.builder.add_flatten(ctx.layer(node, suffix), 0, src, out)
    else:
        ctx.builder.add_reshape(ctx.layer(node, suffix), src, out, tuple(int(d) for d in chw_y), 0)
    return out


def _to(node, ctx):
    """A reshape-like op: one reshape layer from the blob it reads (or from the blob a reshape to
    another rank read: see `through`) to its output. Its output of a rank the layout cannot hold
    gets no layer: reshapes read it through `ctx.reshaped`, anything else refuses it."""
    x, y = node.inputs[0], node.outputs[0]
    sy = ctx.need_shape(y)
    src, src_shape = ctx.source(x)
    if len(sy) not in (2, 4):
        if x not in ctx.reshaped and _chain(node, ctx):
            return
        ctx.reshaped[y] = (src, src_shape)  # Keras exports pass [1, 1, 1, C] -> [C] -> [1, C, 1, 1]
        return
    blob = reshape_blob(node, ctx, src, src_shape, y, sy)
    if blob != y:
        ctx.aliases[y] = blob


def merge_axes(shape, perm):
    """(shape, perm) with runs of axes that a transpose keeps together merged into one axis; the
    batch axis (0) stays on its own."""
    groups = []  # runs of input axes, in output order
    for p in perm:
        if groups and p != 0 and groups[-1][-1] != 0 and p == groups[-1][-1] + 1:
            groups[-1].append(p)
        else:
            groups.append([p])
    order = sorted(groups, key=lambda g: g[0])
    merged = []
    for g in order:
        size = 1
        for a in g:
            size *= shape[a]
        merged.append(size)
    return merged, [order.index(g) for g in groups]


def _chain(node, ctx):
    """A reshape to rank > 4 read only by a Transpose read only by a reshape back to rank 2 or 4:
    the same element order through a (C, H, W) reshape, a permute and a reshape when the transpose,
    its runs of adjacent axes merged, keeps the batch first and moves at most three axes."""
    t = ctx.sole_consumer(node.outputs[0])
    if t is None or t.op_type != "Transpose":
        return False
    back = ctx.sole_consumer(t.outputs[0])
    if back is None or back.op_type not in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
        return False
    shape = ctx.need_shape(node.outputs[0])
    perm = [int(p) % len(shape) for p in attributes(t).get("perm") or reversed(range(len(shape)))]
    out_shape = ctx.need_shape(back.outputs[0])
    merged, mperm = merge_axes(shape, perm)
    if perm[0] != 0 or len(merged) > 4 or len(out_shape) not in (2, 4):
        return False
    merged += [1] * (4 - len(merged))
    mperm += list(range(len(mperm), 4))
    x = node.inputs[0]
    src = reshape_blob(node, ctx, ctx.feature(x), ctx.need_shape(x), ctx.temp(node, "merged"), merged, "merged")
    permuted = ctx.temp(t, "permuted")
    ctx.builder.add_permute(ctx.layer(t), tuple(mperm), src, permuted)
    permuted_shape = [merged[p] for p in mperm]
    y = back.outputs[0]
    blob = reshape_blob(back, ctx, permuted, permuted_shape, y, out_shape)
    if blob != y:
        ctx.aliases[y] = blob
    ctx.absorb(t)
    ctx.absorb(back)
    return True


@EMIT.register("Reshape")
def reshape(node, ctx, allowzero=0):
    _to(node, ctx)


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    if axis % max(1, ctx.need_rank(node.inputs[0])) != 1:
        raise ctx.fail(
            "Flatten with axis %d moves the batch; CoreML's layers keep it (only axis 1 is converted)" % axis
        )
    _to(node, ctx)


@EMIT.register("Squeeze")
def squeeze(node, ctx):
    _to(node, ctx)


@EMIT.register("Unsqueeze")
def unsqueeze(node, ctx):
    _to(node, ctx)


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    """A 4-D transpose that keeps the batch axis is a permute layer over (Seq, C, H, W) with the batch
    fixed: the IR's permutation is the layer's axis order as it is (NHWC -> NCHW behind a Keras input
    is (0, 3, 1, 2))."""
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    perm = [int(p) % rank for p in perm] if perm is not None else list(reversed(range(rank)))
    if perm == list(range(rank)):
        ctx.alias(node, x)
        return
    if rank != 4 or perm[0] != 0:
        raise ctx.fail(
            "transpose %s of a rank-%d value: CoreML's permute layer keeps the batch of an [N, C, H, W] value"
            % (perm, rank),
            hint=SHAPE_HINT,
        )
    ctx.builder.add_permute(ctx.layer(node), tuple(perm), ctx.feature(x), ctx.out(node))

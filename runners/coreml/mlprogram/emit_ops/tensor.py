"""Shape and layout ops as MIL ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split,
Slice, Tile, Expand, Pad, DepthToSpace (DCR and CRD), SpaceToDepth, Identity, Cast.

A free input size (a batch, a sequence length) leaves sizes unknown here: Reshape, Squeeze,
Unsqueeze, Slice and Expand then take the shapes the program computes; a form that needs a size
this writer cannot know is refused with missing-input-shape, and the broker fixes the sizes."""

import numpy as np

from ..common import TO_MIL
from ._common import named

INT32_MAX = 2**31 - 1


def _known_shape(ctx, name):
    """A value's shape as MIL's reshape takes it: its sizes with -1 for its one free size; None when
    the rank is unknown or more than one size is free."""
    shape = ctx.shape(name)
    if shape is None or sum(1 for d in shape if d is None or d <= 0) > 1:
        return None
    return np.array([-1 if d is None or d <= 0 else d for d in shape], np.int32)


@TO_MIL.register("Reshape")
def reshape(node, ctx, allowzero=0):
    """To the output shape where at most one size is free; else to the shape input: a constant
    with ONNX's 0 (copy the input's size) resolved, or the shape computed in the program (taken as
    it is: its sizes come from tensors', which Core ML never has of size 0)."""
    from coremltools.converters.mil import Builder as mb

    x = ctx.var(node.inputs[0])
    target = _known_shape(ctx, node.outputs[0])
    if target is None and ctx.const(node.inputs[1]) is not None:
        target = _resolved_shape(node, ctx, allowzero)
    if target is None:
        target = ctx.var(node.inputs[1])
    ctx.set(node, mb.reshape(x=x, shape=target, name=ctx.out(node)))


def _resolved_shape(node, ctx, allowzero):
    shape = [int(d) for d in ctx.const(node.inputs[1]).reshape(-1)]
    given = ctx.shape(node.inputs[0]) or []
    same_rank = len(shape) == len(given)
    out = []
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            size = given[i] if i < len(given) else None
            if size is None and not same_rank:
                raise ctx.fail("Reshape copies the free size %d of '%s' to another rank" % (i, node.inputs[0]),
                               reference="missing-input-shape")  # fmt: skip
            d = 0 if size is None else size  # MIL's reshape copies a 0 when the ranks agree
        out.append(d)
    return np.array(out, np.int32)


@TO_MIL.register("Flatten")
def flatten(node, ctx, axis=1):
    from coremltools.converters.mil import Builder as mb

    target = _known_shape(ctx, node.outputs[0])
    if target is None:
        raise ctx.fail("Flatten of a value with several free sizes is not converted", reference="missing-input-shape")
    ctx.set(node, mb.reshape(x=ctx.var(node.inputs[0]), shape=target, name=ctx.out(node)))


@TO_MIL.register("Squeeze")
def squeeze(node, ctx):
    from coremltools.converters.mil import Builder as mb

    shape = ctx.shape(node.inputs[0])
    if node.input(1):
        axes = [int(a) for a in ctx.need_const(node, 1, "the axes").reshape(-1)]
    elif shape is not None and all(d is not None and d > 0 for d in shape):
        axes = [i for i, d in enumerate(shape) if d == 1]
    else:
        raise ctx.fail("Squeeze without axes of a value with free sizes", reference="missing-input-shape")
    if not axes:
        ctx.alias(node, node.inputs[0])
        return
    ctx.set(node, mb.squeeze(x=ctx.var(node.inputs[0]), axes=axes, name=ctx.out(node)))


@TO_MIL.register("Unsqueeze")
def unsqueeze(node, ctx):
    from coremltools.converters.mil import Builder as mb

    axes = [int(a) for a in ctx.need_const(node, 1, "the axes").reshape(-1)]
    x = ctx.var(node.inputs[0])
    if x.rank == 0 and axes in ([0], [-1]):  # MIL's expand_dims takes tensors of rank 1 or more
        ctx.set(node, mb.reshape(x=x, shape=np.array([1], np.int32), name=ctx.out(node)))
        return
    ctx.set(node, mb.expand_dims(x=x, axes=axes, name=ctx.out(node)))


@TO_MIL.register("Transpose")
def transpose(node, ctx, perm=None):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    perm = [int(p) % rank for p in perm] if perm is not None else list(reversed(range(rank)))
    ctx.set(node, mb.transpose(x=ctx.var(node.inputs[0]), perm=perm, name=ctx.out(node)))


@TO_MIL.register("Concat")
def concat(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    values = [ctx.var(n) for n in node.inputs if n]
    if len(values) == 1:
        ctx.alias(node, [n for n in node.inputs if n][0])
        return
    ctx.set(node, mb.concat(values=values, axis=int(axis), interleave=False, name=ctx.out(node)))


@TO_MIL.register("Split")
def split(node, ctx, axis=0, num_outputs=None):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    a = int(axis) % rank
    if node.input(1):
        sizes = [int(d) for d in ctx.need_const(node, 1, "the split sizes").reshape(-1)]
    else:
        sizes = [(ctx.shape(o) or [None] * rank)[a] for o in node.outputs]
        if any(d is None or d <= 0 for d in sizes):
            raise ctx.fail("Split of a free size into %d parts" % len(node.outputs), reference="missing-input-shape")
    outs = mb.split(
        x=ctx.var(node.inputs[0]),
        split_sizes=np.array(sizes, np.int32),
        axis=a,
        name=ctx.names.fresh(ctx.out(node) + "_split"),
    )
    for i, (o, var) in enumerate(zip(node.outputs, outs)):
        if o:
            ctx.set(node, mb.identity(x=var, name=ctx.out(node, i)), i)


@TO_MIL.register("Slice")
def slice_(node, ctx):
    """slice_by_index. Where the sliced axes' sizes and the bounds are known, every axis's
    begin/end is resolved from ONNX's starts/ends/axes/steps here; else (a free size, bounds
    computed in the program) the bounds are given as they are, with forward steps only: MIL's
    slice is numpy's, which takes negative and out-of-range bounds as ONNX does."""
    from coremltools.converters.mil import Builder as mb

    shape = ctx.shape(node.inputs[0])
    rank = ctx.need_rank(node.inputs[0])
    n = ctx.rank(node.inputs[1]) and ctx.shape(node.inputs[1])[0]
    axes = ctx.need_const(node, 3, "the axes").reshape(-1) if node.input(3) else np.arange(n or 0)
    axes = [int(a) % rank for a in axes]
    steps = ctx.need_const(node, 4, "the steps").reshape(-1) if node.input(4) else np.ones(len(axes), np.int64)
    starts, ends = ctx.const(node.inputs[1]), ctx.const(node.inputs[2])
    known = starts is not None and ends is not None and all(shape[a] is not None and shape[a] > 0 for a in axes)
    begin, end, stride = [0] * rank, [0] * rank, [1] * rank
    begin_mask, end_mask = [True] * rank, [True] * rank
    if known:
        for s, e, a, st in zip(starts.reshape(-1), ends.reshape(-1), axes, steps):
            b, stop, step = slice(int(s), int(e), int(st)).indices(shape[a])
            if len(range(b, stop, step)) == 0:
                raise ctx.fail("an empty slice is not converted to an ML Program")
            begin[a], end[a], stride[a], begin_mask[a] = b, stop, step, False
            end_mask[a] = step < 0 and stop < 0  # through index 0 going backwards
        begin_v, end_v = np.array(begin, np.int32), np.array(end, np.int32)
    else:
        if any(int(st) <= 0 for st in steps):
            raise ctx.fail("a backward Slice of a free size or with computed bounds is not converted",
                           reference="missing-input-shape")  # fmt: skip
        for a, st in zip(axes, steps):
            stride[a], begin_mask[a], end_mask[a] = int(st), False, False
        begin_v = _bounds(node, ctx, 1, axes, rank, begin_mask)
        end_v = _bounds(node, ctx, 2, axes, rank, end_mask)
    ctx.set(
        node,
        mb.slice_by_index(
            x=ctx.var(node.inputs[0]),
            begin=begin_v,
            end=end_v,
            stride=np.array(stride, np.int32),
            begin_mask=begin_mask,
            end_mask=end_mask,
            name=ctx.out(node),
        ),
    )


def _bounds(node, ctx, i, axes, rank, mask):
    """Input i (starts or ends, one per sliced axis) as a full-rank int32 vector: the other axes 0
    (masked), bounds past int32 masked (the whole axis), a computed vector scattered in place."""
    from coremltools.converters.mil import Builder as mb

    const = ctx.const(node.inputs[i])
    if const is not None:
        out = [0] * rank
        for a, v in zip(axes, const.reshape(-1)):
            v = int(v)
            if v >= INT32_MAX or v <= -INT32_MAX:
                mask[a] = True
            out[a] = int(np.clip(v, -INT32_MAX, INT32_MAX))
        return np.array(out, np.int32)
    var = ctx.var(node.inputs[i])
    if axes == list(range(rank)):
        return var
    pieces = []
    for a in range(rank):
        if a in axes:
            k = axes.index(a)
            pieces.append(mb.slice_by_index(x=var, begin=[k], end=[k + 1], name=named(ctx, node, False)))
        else:
            pieces.append(np.zeros(1, np.int32))
    return mb.concat(values=pieces, axis=0, name=named(ctx, node, False))


@TO_MIL.register("Tile")
def tile(node, ctx):
    from coremltools.converters.mil import Builder as mb

    reps = ctx.need_const(node, 1, "the repeats").reshape(-1).astype(np.int32)
    ctx.set(node, mb.tile(x=ctx.var(node.inputs[0]), reps=reps, name=ctx.out(node)))


@TO_MIL.register("Expand")
def expand(node, ctx):
    """Broadcast: the input given the output's rank (leading 1s), then tiled. To a known output
    shape the repeats are constants; to a shape computed in the program (a free batch...) they are
    max(shape, input's shape) / input's shape, computed there too."""
    from coremltools.converters.mil import Builder as mb

    shape = ctx.shape(node.inputs[0])
    out = ctx.static_shape(node.outputs[0])
    rank = len(out) if out is not None else (ctx.shape(node.inputs[1]) or [None])[0]
    if shape is None or rank is None:
        raise ctx.fail("Expand to a shape of unknown length", reference="missing-input-shape")
    x = ctx.x(node.inputs[0])
    lead = rank - len(shape)
    if isinstance(x, np.ndarray):
        x = x.reshape([1] * lead + list(x.shape))
        full = list(x.shape)
        x = ctx.var(node.inputs[0]) if lead == 0 else mb.const(val=x, name=named(ctx, node, False))
    else:
        full = [1] * lead + list(shape)
        if lead:
            x = mb.expand_dims(x=x, axes=list(range(lead)), name=named(ctx, node, False))
    if out is not None:
        reps = [o // i for i, o in zip(full, out)]
        if reps == [1] * len(out):
            ctx.set(node, mb.identity(x=x, name=ctx.out(node)))
            return
        ctx.set(node, mb.tile(x=x, reps=np.array(reps, np.int32), name=ctx.out(node)))
        return
    target = ctx.var(node.inputs[1])
    if all(d == 1 for d in full):
        reps = target
    else:
        have = (np.array(full, np.int32) if all(d is not None for d in full)
                else mb.shape(x=x, name=named(ctx, node, False)))  # fmt: skip
        wanted = mb.maximum(x=target, y=have, name=named(ctx, node, False))
        reps = mb.floor_div(x=wanted, y=have, name=named(ctx, node, False))
    ctx.set(node, mb.tile(x=x, reps=reps, name=ctx.out(node)))


@TO_MIL.register("Pad")
def pad(node, ctx, mode="constant"):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    pads = ctx.need_const(node, 1, "the pads").reshape(-1)
    axes = ctx.need_const(node, 3, "the axes").reshape(-1) if node.input(3) else np.arange(rank)
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(int(a) % rank for a in axes):
        begins[a], ends[a] = int(pads[i]), int(pads[len(axes) + i])
    if min(begins + ends) < 0:
        raise ctx.fail("negative pads (cropping) are not converted")
    mil_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if mil_mode is None:
        raise ctx.fail("pad mode %s has no MIL equivalent" % mode)
    value = ctx.need_const(node, 2, "the pad value") if node.input(2) else None
    first = min([i for i in range(rank) if begins[i] or ends[i]] or [rank - 1])
    if mil_mode != "constant" and first < rank - 2:
        raise ctx.fail("%s padding of an axis other than the last two has no MIL equivalent" % mode)
    widths = []
    for b, e in zip(begins[first:], ends[first:]):
        widths += [b, e]
    ctx.set(
        node,
        mb.pad(
            x=ctx.var(node.inputs[0]),
            pad=np.array(widths, np.int32),
            mode=mil_mode,
            constant_val=np.float32(0.0 if value is None else np.asarray(value).reshape(-1)[0]),
            name=ctx.out(node),
        ),
    )


@TO_MIL.register("DepthToSpace")
def depth_to_space(node, ctx, blocksize, mode="DCR"):
    """DCR is MIL's depth_to_space (TensorFlow's order), CRD its pixel_shuffle (PyTorch's)."""
    from coremltools.converters.mil import Builder as mb

    x = ctx.var(node.inputs[0])
    if mode == "CRD":
        ctx.set(node, mb.pixel_shuffle(x=x, upscale_factor=int(blocksize), name=ctx.out(node)))
    else:
        ctx.set(node, mb.depth_to_space(x=x, block_size=int(blocksize), name=ctx.out(node)))


@TO_MIL.register("SpaceToDepth")
def space_to_depth(node, ctx, blocksize):
    from coremltools.converters.mil import Builder as mb

    ctx.set(node, mb.space_to_depth(x=ctx.var(node.inputs[0]), block_size=int(blocksize), name=ctx.out(node)))


@TO_MIL.register("Identity")
def identity(node, ctx):
    ctx.alias(node, node.inputs[0])


CAST = {1: "fp32", 10: "fp16", 6: "int32", 7: "int32", 9: "bool"}  # int64 values are int32 in the program


@TO_MIL.register("Cast")
def cast(node, ctx, saturate=1, to=1):
    from coremltools.converters.mil import Builder as mb

    if to not in CAST:
        raise ctx.fail("Cast to ONNX type %d is not converted to an ML Program (float32, float16, int32, int64 as "
                       "int32, bool)" % to)  # fmt: skip
    ctx.set(node, mb.cast(x=ctx.var(node.inputs[0]), dtype=CAST[to], name=ctx.out(node)))

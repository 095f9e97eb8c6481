"""Shape and layout ops as MIL ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split,
Slice, Tile, Expand, Pad, DepthToSpace (DCR and CRD), SpaceToDepth, Identity, Cast."""

import numpy as np

from ..common import TO_MIL
from ._common import named


def _static_reshape(node, ctx):
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.outputs[0])
    ctx.set(node, mb.reshape(x=ctx.var(node.inputs[0]), shape=np.array(shape, np.int32), name=ctx.out(node)))


@TO_MIL.register("Reshape")
def reshape(node, ctx, allowzero=0):
    """Every reshape-like op becomes a reshape to the (static) output shape."""
    _static_reshape(node, ctx)


@TO_MIL.register("Flatten")
def flatten(node, ctx, axis=1):
    _static_reshape(node, ctx)


@TO_MIL.register("Squeeze", "Unsqueeze")
def squeeze(node, ctx):
    _static_reshape(node, ctx)


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
    sizes = [ctx.need_shape(o)[a] for o in node.outputs]
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
    """slice_by_index with every axis's begin/end resolved from ONNX's starts/ends/axes/steps."""
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.inputs[0])
    rank = len(shape)
    starts = ctx.need_const(node, 1, "the starts").reshape(-1)
    ends = ctx.need_const(node, 2, "the ends").reshape(-1)
    axes = ctx.need_const(node, 3, "the axes").reshape(-1) if node.input(3) else np.arange(len(starts))
    steps = ctx.need_const(node, 4, "the steps").reshape(-1) if node.input(4) else np.ones(len(starts), np.int64)
    begin, end, stride = [0] * rank, list(shape), [1] * rank
    end_mask = [False] * rank
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = int(a) % rank
        b, stop, step = slice(int(s), int(e), int(st)).indices(shape[a])
        if len(range(b, stop, step)) == 0:
            raise ctx.fail("an empty slice is not converted to an ML Program")
        begin[a], end[a], stride[a] = b, stop, step
        end_mask[a] = step < 0 and stop < 0  # through index 0 going backwards
    ctx.set(
        node,
        mb.slice_by_index(
            x=ctx.var(node.inputs[0]),
            begin=np.array(begin, np.int32),
            end=np.array([0 if m else e for e, m in zip(end, end_mask)], np.int32),
            stride=np.array(stride, np.int32),
            end_mask=end_mask,
            name=ctx.out(node),
        ),
    )


@TO_MIL.register("Tile")
def tile(node, ctx):
    from coremltools.converters.mil import Builder as mb

    reps = ctx.need_const(node, 1, "the repeats").reshape(-1).astype(np.int32)
    ctx.set(node, mb.tile(x=ctx.var(node.inputs[0]), reps=reps, name=ctx.out(node)))


@TO_MIL.register("Expand")
def expand(node, ctx):
    """Broadcast to the output shape: a reshape to its rank (leading 1s), then tile."""
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.inputs[0])
    out = ctx.need_shape(node.outputs[0])
    full = [1] * (len(out) - len(shape)) + shape
    x = ctx.var(node.inputs[0])
    if full != shape:
        x = mb.reshape(x=x, shape=np.array(full, np.int32), name=named(ctx, node, False))
    reps = [o // i for i, o in zip(full, out)]
    if reps == [1] * len(out):
        ctx.set(node, mb.identity(x=x, name=ctx.out(node)))
        return
    ctx.set(node, mb.tile(x=x, reps=np.array(reps, np.int32), name=ctx.out(node)))


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

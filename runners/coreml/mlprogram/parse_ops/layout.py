"""MIL slice_by_index, split, gather, gather_along_axis, gather_nd, tile, reverse, stack,
expand_dims, squeeze, depth_to_space, pixel_shuffle, space_to_depth, crop -> IR nodes."""

import numpy as np

from ..common import FROM_MIL


def _i64(values):
    return np.asarray(values, np.int64).reshape(-1)


@FROM_MIL.register("slice_by_index")
def slice_by_index(op, ctx):
    """begin/end/stride with begin_mask / end_mask (the whole axis that way), constant or computed
    (numpy's slicing, ONNX's too); squeeze_mask is not translated."""
    rank = len(op.inputs["x"].shape)
    stride = _i64(ctx.val(op, "stride", [1] * rank))
    masks = {
        k: [bool(v) for v in np.asarray(ctx.val(op, k, [False] * rank)).reshape(-1)]
        for k in ("begin_mask", "end_mask", "squeeze_mask")
    }
    if any(masks["squeeze_mask"]):
        raise ctx.fail("slice_by_index with a squeeze_mask is not translated")
    big = np.iinfo(np.int64).max
    whole = {
        "begin": [0 if s > 0 else big for s in stride],
        "end": [big if s > 0 else -big for s in stride],
    }
    out = ctx.out(op)
    bounds = []
    for key in ("begin", "end"):
        mask = masks[key + "_mask"]
        value = ctx.val(op, key)
        if value is not None:
            value = [w if m else v for v, w, m in zip(_i64(value), whole[key], mask)]
            bounds.append(ctx.const("%s__%ss" % (out, key), _i64(value)))
            continue
        given = ctx.node("Cast", [ctx.input(op, key)], ["%s__%s_int64" % (out, key)], to=7)
        if any(mask):
            cond = ctx.const("%s__%s_mask" % (out, key), np.array(mask))
            given = ctx.node("Where", [cond, ctx.const("%s__%s_whole" % (out, key), _i64(whole[key])), given],
                             ["%s__%ss" % (out, key)])  # fmt: skip
        bounds.append(given)
    inputs = [ctx.input(op, "x")] + bounds
    inputs += [ctx.const(out + "__axes", np.arange(rank, dtype=np.int64)), ctx.const(out + "__steps", stride)]
    ctx.node("Slice", inputs, [out])


@FROM_MIL.register("split")
def split(op, ctx):
    """split_sizes, or num_splits equal parts (ONNX's num_outputs, which also takes a free size)."""
    axis = int(ctx.val(op, "axis"))
    outs = [ctx.out(op, i) for i in range(len(op.outputs))]
    sizes = [v.shape[axis] for v in op.outputs]
    if ctx.val(op, "split_sizes") is None and not all(isinstance(d, (int, np.integer)) for d in sizes):
        ctx.node("Split", [ctx.input(op, "x")], outs, axis=axis, num_outputs=len(outs))
        return
    sizes = ctx.const(ctx.out(op) + "__sizes", _i64([int(d) for d in sizes]))
    ctx.node("Split", [ctx.input(op, "x"), sizes], outs, axis=axis)


@FROM_MIL.register("reverse")
def reverse(op, ctx):
    axes = ctx.val(op, "axes")
    axes = list(range(len(op.inputs["x"].shape))) if axes is None else [int(a) for a in _i64(axes)]
    big = np.iinfo(np.int64).max
    out = ctx.out(op)
    inputs = [
        ctx.input(op, "x"),
        ctx.const(out + "__starts", _i64([-1] * len(axes))),
        ctx.const(out + "__ends", _i64([-big] * len(axes))),
        ctx.const(out + "__axes", _i64(axes)),
        ctx.const(out + "__steps", _i64([-1] * len(axes))),
    ]
    ctx.node("Slice", inputs, [out])


@FROM_MIL.register("stack")
def stack(op, ctx):
    out = ctx.out(op)
    axis = ctx.const(out + "__axis", _i64([int(ctx.val(op, "axis", 0))]))
    values = op.inputs["values"]
    parts = [ctx.node("Unsqueeze", [ctx.input_var(v), axis], ["%s__%d" % (out, i)]) for i, v in enumerate(values)]
    ctx.node("Concat", parts, [out], axis=int(ctx.val(op, "axis", 0)))


@FROM_MIL.register("expand_dims")
def expand_dims(op, ctx):
    out = ctx.out(op)
    ctx.node("Unsqueeze", [ctx.input(op, "x"), ctx.const(out + "__axes", _i64(ctx.val(op, "axes")))], [out])


@FROM_MIL.register("squeeze")
def squeeze(op, ctx):
    out = ctx.out(op)
    axes = ctx.val(op, "axes")
    inputs = [ctx.input(op, "x")] + ([ctx.const(out + "__axes", _i64(axes))] if axes is not None else [])
    ctx.node("Squeeze", inputs, [out])


@FROM_MIL.register("gather")
def gather(op, ctx):
    if ctx.val(op, "batch_dims", 0):
        raise ctx.fail("gather with batch_dims is not translated")
    axis = int(ctx.val(op, "axis", 0))
    ctx.node("Gather", [ctx.input(op, "x"), ctx.input(op, "indices")], [ctx.out(op)], axis=axis)


@FROM_MIL.register("gather_along_axis")
def gather_along_axis(op, ctx):
    axis = int(ctx.val(op, "axis", 0))
    ctx.node("GatherElements", [ctx.input(op, "x"), ctx.input(op, "indices")], [ctx.out(op)], axis=axis)


@FROM_MIL.register("gather_nd")
def gather_nd(op, ctx):
    if ctx.val(op, "batch_dims", 0):
        raise ctx.fail("gather_nd with batch_dims is not translated")
    out = ctx.out(op)
    indices = ctx.node("Cast", [ctx.input(op, "indices")], [out + "__indices"], to=7)  # ONNX's GatherND: int64
    ctx.node("GatherND", [ctx.input(op, "x"), indices], [out])


@FROM_MIL.register("tile")
def tile(op, ctx):
    out = ctx.out(op)
    ctx.node("Tile", [ctx.input(op, "x"), ctx.int64(op, "reps")], [out])


@FROM_MIL.register("depth_to_space")
def depth_to_space(op, ctx):
    ctx.node("DepthToSpace", [ctx.input(op, "x")], [ctx.out(op)], blocksize=int(ctx.val(op, "block_size")), mode="DCR")


@FROM_MIL.register("pixel_shuffle")
def pixel_shuffle(op, ctx):
    ctx.node(
        "DepthToSpace", [ctx.input(op, "x")], [ctx.out(op)], blocksize=int(ctx.val(op, "upscale_factor")), mode="CRD"
    )


@FROM_MIL.register("space_to_depth")
def space_to_depth(op, ctx):
    ctx.node("SpaceToDepth", [ctx.input(op, "x")], [ctx.out(op)], blocksize=int(ctx.val(op, "block_size")))


@FROM_MIL.register("crop")
def crop(op, ctx):
    """crop_height / crop_width [begin, end] rows cut from the last two axes (what coremltools' own
    PyTorch converter writes after a conv_transpose with output_padding)."""
    top, bottom = (int(v) for v in _i64(ctx.val(op, "crop_height")))
    left, right = (int(v) for v in _i64(ctx.val(op, "crop_width")))
    h, w = (int(d) for d in op.inputs["x"].shape[-2:])
    out = ctx.out(op)
    inputs = [
        ctx.input(op, "x"),
        ctx.const(out + "__starts", _i64([top, left])),
        ctx.const(out + "__ends", _i64([h - bottom, w - right])),
        ctx.const(out + "__axes", _i64([-2, -1])),
    ]
    ctx.node("Slice", inputs, [out])

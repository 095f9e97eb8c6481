"""Splice, Reshape, Slice, Pad, TransposeAxes, ReduceElements."""

from ..parse import PARSE

BIG = 2**62
PAD_MODES = {0: "constant", 1: "reflect"}  # CNTK: CONSTANT, REFLECT (SYMMETRIC has no IR equivalent)
REDUCE = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd",
          "LogSum": "ReduceLogSumExp"}  # fmt: skip


def _axes(node, ctx, rank):
    a = node.attrs
    axes = a.get("axisVec") or ([a["axis"]] if "axis" in a else [])
    return [ctx.python_axis(ax, rank) for ax in axes]


@PARSE.register("Splice")
def splice(node, ctx):
    rank = ctx.static_rank(node.inputs[0])
    axis = ctx.python_axis(node.attrs["axis"], rank)
    batched = 1 if node.inputs[0] in ctx.flat.batched else 0
    ctx.add("Concat", node.inputs, node.outputs, axis=axis + batched)


@PARSE.register("Reshape")
def reshape(node, ctx):
    out = node.outputs[0]
    ctx.add("Reshape", [node.inputs[0], ctx.ints("shape", ctx.shape(out))], node.outputs)


@PARSE.register("Slice")
def slice_(node, ctx):
    a = node.attrs
    x = node.inputs[0]
    rank = ctx.static_rank(x)
    axes = _axes(node, ctx, rank)
    begins = list(a.get("beginIndexVec") or [a.get("beginIndex", 0)])
    ends = list(a.get("endIndexVec") or [a.get("endIndex", 0)])
    steps = list(a.get("sliceStridesVec") or [a.get("sliceStrides", 1)])
    ends = [BIG if e == 0 else e for e in ends]  # CNTK: end 0 is the end of the axis
    offset = 1 if x in ctx.flat.batched else 0
    ctx.add(
        "Slice",
        [x, ctx.ints("starts", begins), ctx.ints("ends", ends), ctx.ints("axes", [p + offset for p in axes]),
         ctx.ints("steps", steps)],
        node.outputs,
    )  # fmt: skip


@PARSE.register("Pad")
def pad(node, ctx):
    a = node.attrs
    x = node.inputs[0]
    head = list(reversed(a.get("paddingHead", [])))
    foot = list(reversed(a.get("paddingFoot", [])))
    mode = int(a.get("paddingMode", 0))
    if mode not in PAD_MODES:
        raise ctx.fail("padding mode %d (symmetric) has no IR equivalent" % mode)
    lead = [0] if x in ctx.flat.batched else []
    pads = lead + [int(h) for h in head] + lead + [int(f) for f in foot]
    value = ctx.add_const("value", float(a.get("paddingConstantValue", 0.0)))
    ctx.add("Pad", [x, ctx.ints("pads", pads), value], node.outputs, mode=PAD_MODES[mode])


@PARSE.register("TransposeAxes")
def transpose(node, ctx):
    x = node.inputs[0]
    rank = ctx.static_rank(x)
    axes = _axes(node, ctx, rank)
    if len(axes) != rank:
        raise ctx.fail("a transpose of %d of %d axes" % (len(axes), rank))
    # axisVec[i] (internal) is the input axis that becomes internal output axis i
    perm = [None] * rank
    for internal_out, p_in in enumerate(axes):
        perm[rank - 1 - internal_out] = p_in
    offset = 1 if x in ctx.flat.batched else 0
    ctx.add("Transpose", [x], node.outputs, perm=[0] * offset + [p + offset for p in perm])


@PARSE.register("ReduceElements")
def reduce_elements(node, ctx):
    a = node.attrs
    op = REDUCE.get(a.get("reductionOpName"))
    if op is None:
        raise ctx.fail("reduction %r has no IR equivalent" % a.get("reductionOpName"))
    x = node.inputs[0]
    axes = _axes(node, ctx, ctx.static_rank(x))
    offset = 1 if x in ctx.flat.batched else 0
    keep = 1 if a.get("reductionKeepDimensions", True) else 0
    ctx.add(op, [x, ctx.ints("axes", [p + offset for p in axes])], node.outputs, keepdims=keep)

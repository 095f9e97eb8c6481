"""add, multiply, max, min, average, concat, bias, scale."""

import numpy as np

from ..parse import PARSE, weights


def _operands(layer, ctx):
    ranks = {ctx.rank(b) for b in layer.input}
    rank = ranks.pop() if len(ranks) == 1 else 4
    return [ctx.any(b) if rank == 2 else ctx.x(b) for b in layer.input], rank


PAIRWISE = {"add": "Add", "multiply": "Mul", "max": "Max", "min": "Min"}


@PARSE.register(*PAIRWISE)
def pairwise(layer, params, ctx):
    """n inputs as a chain of two-input ops; add and multiply with one input use their alpha."""
    op = PAIRWISE[layer.WhichOneof("layer")]
    inputs, rank = _operands(layer, ctx)
    if len(inputs) == 1:
        if not hasattr(params, "alpha"):
            ctx.node("Identity", inputs, [ctx.out(rank=rank)])
            return
        alpha = ctx.const("alpha", np.array(params.alpha, np.float32))
        ctx.node(op, [inputs[0], alpha], [ctx.out(rank=rank)])
        return
    value = inputs[0]
    for i, other in enumerate(inputs[1:-1]):
        value = ctx.node(op, [value, other], [ctx.tmp(str(i))], suffix=str(i))
    ctx.node(op, [value, inputs[-1]], [ctx.out(rank=rank)])


@PARSE.register("average")
def average(layer, params, ctx):
    inputs, rank = _operands(layer, ctx)
    ctx.node("Mean", inputs, [ctx.out(rank=rank)])


@PARSE.register("concat")
def concat(layer, params, ctx):
    if params.sequenceConcat:
        raise ctx.fail("sequence concatenation is not read")
    inputs, rank = _operands(layer, ctx)
    ctx.node("Concat", inputs, [ctx.out(rank=rank)], axis=1)


def _shaped(values, shape, rank):
    shape = [int(d) for d in shape] or [1]
    if len(shape) == 1 and shape[0] == 1:
        return values.reshape(())
    if len(shape) == 1:
        return values.reshape((1, shape[0]) + ((1, 1) if rank == 4 else ()))
    return values.reshape([1] + shape)


@PARSE.register("bias")
def bias(layer, params, ctx):
    rank = ctx.rank(layer.input[0])
    b = _shaped(weights(params.bias, ctx, "bias"), params.shape, rank)
    x = ctx.any(layer.input[0]) if b.ndim <= 2 and rank == 2 else ctx.x(layer.input[0])
    ctx.node("Add", [x, ctx.const("bias", b)], [ctx.out(rank=rank if x == ctx.any(layer.input[0]) else 4)])


@PARSE.register("scale")
def scale(layer, params, ctx):
    rank = ctx.rank(layer.input[0])
    s = _shaped(weights(params.scale, ctx, "scale"), params.shapeScale, rank)
    b = _shaped(weights(params.bias, ctx, "bias"), params.shapeBias, rank) if params.hasBias else None
    keep = all(a is None or a.ndim <= 2 for a in (s, b)) and rank == 2
    x = ctx.any(layer.input[0]) if keep else ctx.x(layer.input[0])
    out_rank = rank if keep else 4
    if b is None:
        ctx.node("Mul", [x, ctx.const("scale", s)], [ctx.out(rank=out_rank)])
        return
    scaled = ctx.node("Mul", [x, ctx.const("scale", s)], [ctx.tmp("scaled")], suffix="mul")
    ctx.node("Add", [scaled, ctx.const("bias", b)], [ctx.out(rank=out_rank)])

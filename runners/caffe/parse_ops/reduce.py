"""Reduction (sums, absolute sums, sums of squares, means over the axes from `axis`, times coeff)
and MVN (mean removed, variance divided out: (x - mean) / (sqrt(var) + eps) as Caffe computes it)."""

from ..parse import PARSE

REDUCE = {"SUM": "ReduceSum", "ASUM": "ReduceL1", "SUMSQ": "ReduceSumSquare", "MEAN": "ReduceMean"}


@PARSE.register("Reduction")
def reduction(layer, ctx):
    p = layer.reduction_param
    shape = ctx.shape(0)
    axis = p.axis + len(shape) if p.axis < 0 else p.axis
    op = REDUCE[p.DESCRIPTOR.fields_by_name["operation"].enum_type.values_by_number[p.operation].name]
    axes = ctx.const("axes", list(range(axis, len(shape))), "int64")
    out = ctx.top(0) if p.coeff == 1.0 else ctx.temp("reduced")
    ctx.node(op, [ctx.bottom(0), axes], [out], keepdims=0)
    if p.coeff != 1.0:
        ctx.node("Mul", [out, ctx.const("coeff", float(p.coeff))], [ctx.top(0)])
    ctx.set_shape(0, shape[:axis])


@PARSE.register("MVN")
def mvn(layer, ctx):
    p = layer.mvn_param
    shape = ctx.shape(0)
    axes = ctx.const("axes", list(range(1 if p.across_channels else 2, len(shape))), "int64")
    mean, centered = ctx.temp("mean"), ctx.top(0) if not p.normalize_variance else ctx.temp("centered")
    ctx.node("ReduceMean", [ctx.bottom(0), axes], [mean], keepdims=1)
    ctx.node("Sub", [ctx.bottom(0), mean], [centered])
    if p.normalize_variance:
        squares, var, std, denominator = (ctx.temp(s) for s in ("squares", "variance", "std", "denominator"))
        ctx.node("Mul", [centered, centered], [squares])
        ctx.node("ReduceMean", [squares, axes], [var], keepdims=1)
        ctx.node("Sqrt", [var], [std])
        ctx.node("Add", [std, ctx.const("eps", float(p.eps))], [denominator])
        ctx.node("Div", [centered, denominator], [ctx.top(0)])
    ctx.set_shape(0, shape)

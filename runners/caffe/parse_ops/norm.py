"""BatchNorm (global statistics divided by the stored moving-average factor), Scale and Bias
(per-channel or over `num_axes` from `axis`, weights as blobs or a second bottom), LRN across
and within channels."""

import numpy as np

from ..parse import PARSE


@PARSE.register("BatchNorm")
def batch_norm(layer, ctx):
    p = layer.batch_norm_param
    shape = ctx.shape(0)
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise ctx.fail(
            "unsupported-attribute",
            "use_global_stats: false normalises with the batch's own statistics",
            hint="set use_global_stats: true (inference uses the stored statistics)",
        )
    c = shape[1]
    factor = ctx.blob(2, [1], "moving-average factor")[0]
    scale = 0.0 if factor == 0 else 1.0 / factor
    mean = ctx.blob(0, [c], "mean") * np.float32(scale)
    var = ctx.blob(1, [c], "variance") * np.float32(scale)
    inputs = [ctx.bottom(0), ctx.const("gamma", np.ones(c)), ctx.const("beta", np.zeros(c))]
    inputs += [ctx.const("mean", mean), ctx.const("var", var)]
    ctx.node("BatchNormalization", inputs, [ctx.top(0)], epsilon=float(p.eps))
    ctx.set_shape(0, shape)


def _param_shape(ctx, p, shape):
    axis = p.axis if p.axis >= 0 else p.axis + len(shape)
    end = len(shape) if p.num_axes == -1 else axis + p.num_axes
    return shape[axis:end], [1] * (len(shape) - end)


def _broadcast(ctx, i, p, shape, what):
    """(value, tail ones): a blob of shape shape[axis:axis+num_axes] made to broadcast."""
    own, tail = _param_shape(ctx, p, shape)
    return ctx.blob(i, own, what).reshape(own + tail)


@PARSE.register("Scale")
def scale(layer, ctx):
    p = layer.scale_param
    shape = ctx.shape(0)
    x = ctx.bottom(0)
    bias_index = 1
    if len(layer.bottom) > 1:
        own, tail = _param_shape(ctx, p, shape)
        factor = ctx.temp("factor")
        ctx.node("Reshape", [ctx.bottom(1), ctx.const("factor_shape", own + tail, "int64")], [factor])
        bias_index = 0
    else:
        factor = ctx.const("scale", _broadcast(ctx, 0, p, shape, "scale"))
    if p.bias_term:
        scaled = ctx.temp("scaled")
        ctx.node("Mul", [x, factor], [scaled])
        ctx.node("Add", [scaled, ctx.const("bias", _broadcast(ctx, bias_index, p, shape, "bias"))], [ctx.top(0)])
    else:
        ctx.node("Mul", [x, factor], [ctx.top(0)])
    ctx.set_shape(0, shape)


@PARSE.register("Bias")
def bias(layer, ctx):
    p = layer.bias_param
    shape = ctx.shape(0)
    if len(layer.bottom) > 1:
        own, tail = _param_shape(ctx, p, shape)
        b = ctx.temp("bias")
        ctx.node("Reshape", [ctx.bottom(1), ctx.const("bias_shape", own + tail, "int64")], [b])
    else:
        b = ctx.const("bias", _broadcast(ctx, 0, p, shape, "bias"))
    ctx.node("Add", [ctx.bottom(0), b], [ctx.top(0)])
    ctx.set_shape(0, shape)


@PARSE.register("LRN")
def lrn(layer, ctx):
    p = layer.lrn_param
    shape = ctx.shape(0)
    size = int(p.local_size)
    if size % 2 == 0:
        raise ctx.fail("invalid-model", "local_size %d is even; Caffe requires an odd size" % size)
    region = p.DESCRIPTOR.fields_by_name["norm_region"].enum_type.values_by_number[p.norm_region].name
    if region == "ACROSS_CHANNELS":
        ctx.node("LRN", [ctx.bottom(0)], [ctx.top(0)], size=size, alpha=float(p.alpha), beta=float(p.beta),
                 bias=float(p.k))  # fmt: skip
    else:  # x * (1 + alpha * mean of x^2 over the size x size window, pads counted) ^ -beta
        x = ctx.bottom(0)
        pad = (size - 1) // 2
        sq, avg, scaled, base, powed = (ctx.temp(s) for s in ("square", "mean", "scaled", "base", "power"))
        ctx.node("Mul", [x, x], [sq])
        ctx.node("AveragePool", [sq], [avg], kernel_shape=[size, size], pads=[pad] * 4, count_include_pad=1)
        ctx.node("Mul", [avg, ctx.const("alpha", float(p.alpha))], [scaled])
        ctx.node("Add", [scaled, ctx.const("one", 1.0)], [base])
        ctx.node("Pow", [base, ctx.const("neg_beta", -float(p.beta))], [powed])
        ctx.node("Mul", [x, powed], [ctx.top(0)])
    ctx.set_shape(0, shape)

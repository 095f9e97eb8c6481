"""InnerProduct: the input flattened from `axis` times the (num_output, K) weights (or (K,
num_output) with `transpose`), leading axes kept."""

import numpy as np

from ..parse import PARSE


@PARSE.register("InnerProduct")
def inner_product(layer, ctx):
    p = layer.inner_product_param
    shape = ctx.shape(0)
    axis = p.axis if p.axis >= 0 else p.axis + len(shape)
    k, n = int(np.prod(shape[axis:])), p.num_output
    lead = shape[:axis]
    w = ctx.blob(0, [k, n] if p.transpose else [n, k], "weights")
    inputs = [None, ctx.const("weight", w)]
    if p.bias_term:
        inputs.append(ctx.const("bias", ctx.blob(1, [n], "bias")))
    x = ctx.bottom(0)
    if axis == 1 and len(shape) == 2:
        inputs[0] = x
    elif axis == 1:
        inputs[0] = ctx.temp("flat")
        ctx.node("Flatten", [x], [inputs[0]], axis=1)
    else:
        inputs[0] = ctx.temp("rows")
        ctx.node("Reshape", [x, ctx.const("rows_shape", [int(np.prod(lead)), k], "int64")], [inputs[0]])
    if axis == 1:
        ctx.node("Gemm", inputs, [ctx.top(0)], transB=0 if p.transpose else 1)
    else:
        y = ctx.temp("gemm")
        ctx.node("Gemm", inputs, [y], transB=0 if p.transpose else 1)
        ctx.node("Reshape", [y, ctx.const("out_shape", lead + [n], "int64")], [ctx.top(0)])
    ctx.set_shape(0, lead + [n])

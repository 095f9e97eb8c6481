"""unary (sqrt, rsqrt, inverse, power, exp, log, abs, threshold, with the input's scale and shift)."""

import numpy as np

from ..parse import PARSE


@PARSE.register("unary")
def unary(layer, params, ctx):
    rank = ctx.rank(layer.input[0])
    x = ctx.any(layer.input[0])
    kinds = params.Operation
    scale = params.scale if params.scale != 0 else 1.0
    if scale != 1.0:
        x = ctx.node("Mul", [x, ctx.const("scale", np.array(scale, np.float32))], [ctx.tmp("scaled")], suffix="scale")
    if params.shift:
        x = ctx.node(
            "Add",
            [x, ctx.const("shift", np.array(params.shift, np.float32))],
            [ctx.tmp("shifted")],
            suffix="shift",
        )
    epsilon = np.array(params.epsilon if params.epsilon != 0 else 1e-6, np.float32)
    out = ctx.out(rank=rank)
    t = params.type
    if t == kinds.Value("SQRT"):
        ctx.node("Sqrt", [x], [out])
    elif t == kinds.Value("RSQRT"):
        shifted = ctx.node("Add", [x, ctx.const("epsilon", epsilon)], [ctx.tmp("eps")], suffix="eps")
        root = ctx.node("Sqrt", [shifted], [ctx.tmp("sqrt")], suffix="sqrt")
        ctx.node("Reciprocal", [root], [out])
    elif t == kinds.Value("INVERSE"):
        shifted = ctx.node("Add", [x, ctx.const("epsilon", epsilon)], [ctx.tmp("eps")], suffix="eps")
        ctx.node("Reciprocal", [shifted], [out])
    elif t == kinds.Value("POWER"):
        ctx.node("Pow", [x, ctx.const("alpha", np.array(params.alpha, np.float32))], [out])
    elif t == kinds.Value("EXP"):
        ctx.node("Exp", [x], [out])
    elif t == kinds.Value("LOG"):
        ctx.node("Log", [x], [out])
    elif t == kinds.Value("ABS"):
        ctx.node("Abs", [x], [out])
    elif t == kinds.Value("THRESHOLD"):
        ctx.node("Max", [x, ctx.const("alpha", np.array(params.alpha, np.float32))], [out])
    else:
        raise ctx.fail("unary function %s is not read" % kinds.Name(t))

"""reduce (sum, mean, product, sum of squares, L1, L2, max, min, log-sum, argmax over C, H, W,
H and W, or C, H and W, keeping the reduced axes as 1s)."""

import numpy as np

from ..parse import PARSE

AXES = {"CHW": [1, 2, 3], "HW": [2, 3], "C": [1], "H": [2], "W": [3]}
OPS = {
    "SUM": "ReduceSum",
    "AVG": "ReduceMean",
    "PROD": "ReduceProd",
    "SUMSQUARE": "ReduceSumSquare",
    "L1": "ReduceL1",
    "L2": "ReduceL2",
    "MAX": "ReduceMax",
    "MIN": "ReduceMin",
}


@PARSE.register("reduce")
def reduce(layer, params, ctx):
    x = ctx.x(layer.input[0])
    axes = AXES[params.ReduceAxis.Name(params.axis)]
    mode = params.ReduceOperation.Name(params.mode)
    out = ctx.out()
    if mode in OPS:
        ctx.node(OPS[mode], [x, ctx.const("axes", np.array(axes, np.int64))], [out], keepdims=1)
    elif mode == "LOGSUM":
        eps = np.array(params.epsilon if params.epsilon != 0 else 1e-6, np.float32)
        shifted = ctx.node("Add", [x, ctx.const("epsilon", eps)], [ctx.tmp("eps")], suffix="eps")
        logs = ctx.node("Log", [shifted], [ctx.tmp("log")], suffix="log")
        ctx.node("ReduceSum", [logs, ctx.const("axes", np.array(axes, np.int64))], [out], keepdims=1)
    elif mode == "ARGMAX" and len(axes) == 1:
        index = ctx.node("ArgMax", [x], [ctx.tmp("index")], suffix="argmax", axis=axes[0], keepdims=1)
        ctx.node("Cast", [index], [out], to=1)
    else:
        raise ctx.fail("reduce %s over %s is not read" % (mode, params.ReduceAxis.Name(params.axis)))

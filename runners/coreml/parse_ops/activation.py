"""activation (ReLU, leaky ReLU, thresholded ReLU, PReLU, ELU, sigmoid, hard sigmoid, tanh, scaled
tanh, linear, softplus, softsign), clip, softmax."""

import numpy as np

from ..parse import PARSE, weights


@PARSE.register("activation")
def activation(layer, params, ctx):
    kind = params.WhichOneof("NonlinearityType")
    rank = ctx.rank(layer.input[0])
    x = ctx.any(layer.input[0])
    simple = {"ReLU": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus"}
    if kind in simple:
        ctx.node(simple[kind], [x], [ctx.out(rank=rank)])
    elif kind == "leakyReLU":
        ctx.node("LeakyRelu", [x], [ctx.out(rank=rank)], alpha=params.leakyReLU.alpha)
    elif kind == "ELU":
        ctx.node("Elu", [x], [ctx.out(rank=rank)], alpha=params.ELU.alpha)
    elif kind == "sigmoidHard":
        ctx.node("HardSigmoid", [x], [ctx.out(rank=rank)], alpha=params.sigmoidHard.alpha, beta=params.sigmoidHard.beta)
    elif kind == "PReLU":
        slope = weights(params.PReLU.alpha, ctx, "slopes")
        slope = slope.reshape((-1, 1, 1) if rank == 4 else (-1,))
        ctx.node("PRelu", [x, ctx.const("slope", slope)], [ctx.out(rank=rank)])
    elif kind == "linear":
        a, b = params.linear.alpha, params.linear.beta
        scaled = ctx.node("Mul", [x, ctx.const("alpha", np.array(a, np.float32))], [ctx.tmp("scaled")], "mul")
        ctx.node("Add", [scaled, ctx.const("beta", np.array(b, np.float32))], [ctx.out(rank=rank)])
    elif kind == "softsign":
        ctx.node("Softsign", [x], [ctx.out(rank=rank)])
    elif kind == "thresholdedReLU":
        # x where x >= alpha, else 0 (ONNX's ThresholdedRelu keeps only x > alpha)
        alpha = ctx.const("alpha", np.array(params.thresholdedReLU.alpha, np.float32))
        keep = ctx.node("GreaterOrEqual", [x, alpha], [ctx.tmp("keep")], "keep")
        ctx.node("Where", [keep, x, ctx.const("zero", np.zeros((), np.float32))], [ctx.out(rank=rank)])
    elif kind == "scaledTanh":
        a, b = params.scaledTanh.alpha, params.scaledTanh.beta
        scaled = ctx.node("Mul", [x, ctx.const("beta", np.array(b, np.float32))], [ctx.tmp("scaled")], "mul")
        t = ctx.node("Tanh", [scaled], [ctx.tmp("tanh")], "tanh")
        ctx.node("Mul", [t, ctx.const("alpha", np.array(a, np.float32))], [ctx.out(rank=rank)])
    else:
        raise ctx.fail("the %s activation is not read" % kind)


@PARSE.register("clip")
def clip(layer, params, ctx):
    rank = ctx.rank(layer.input[0])
    low = ctx.const("min", np.array(params.minVal, np.float32))
    high = ctx.const("max", np.array(params.maxVal, np.float32))
    ctx.node("Clip", [ctx.any(layer.input[0]), low, high], [ctx.out(rank=rank)])


@PARSE.register("softmax")
def softmax(layer, params, ctx):
    rank = ctx.rank(layer.input[0])
    ctx.node("Softmax", [ctx.any(layer.input[0])], [ctx.out(rank=rank)], axis=1)

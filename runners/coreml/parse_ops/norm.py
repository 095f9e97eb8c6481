"""batchnorm (incl. instance normalization), lrn."""

from ..parse import PARSE, weights


@PARSE.register("batchnorm")
def batchnorm(layer, params, ctx):
    x = ctx.x(layer.input[0])
    gamma = ctx.const("gamma", weights(params.gamma, ctx))
    beta = ctx.const("beta", weights(params.beta, ctx))
    if params.instanceNormalization and params.computeMeanVar:
        ctx.node("InstanceNormalization", [x, gamma, beta], [ctx.out()], epsilon=params.epsilon)
        return
    if params.computeMeanVar:
        raise ctx.fail("batch normalization that computes the batch's mean and variance is not read")
    mean = ctx.const("mean", weights(params.mean, ctx))
    var = ctx.const("variance", weights(params.variance, ctx))
    ctx.node("BatchNormalization", [x, gamma, beta, mean, var], [ctx.out()], epsilon=params.epsilon)


@PARSE.register("lrn")
def lrn(layer, params, ctx):
    ctx.node(
        "LRN",
        [ctx.x(layer.input[0])],
        [ctx.out()],
        alpha=params.alpha,
        beta=params.beta,
        size=int(params.localSize),
        bias=params.k,
    )

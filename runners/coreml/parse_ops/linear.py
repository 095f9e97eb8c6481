"""innerProduct."""

from ..parse import PARSE, weights


@PARSE.register("innerProduct")
def inner_product(layer, params, ctx):
    if params.int8DynamicQuantize:
        raise ctx.fail("int8 dynamically quantized inner products are not read")
    w = weights(params.weights, ctx).reshape(params.outputChannels, params.inputChannels)
    inputs = [ctx.vec(layer.input[0]), ctx.const("weight", w)]
    if params.hasBias:
        inputs.append(ctx.const("bias", weights(params.bias, ctx, "bias")))
    ctx.node("Gemm", inputs, [ctx.out(rank=2)], transB=1)

"""BatchNormalization at inference: spatial (per channel) -> IR BatchNormalization; non-spatial
(per element) -> Mul and Add with the folded statistics."""

import numpy as np

from ..parse import PARSE


@PARSE.register("BatchNormalization")
def batch_normalization(node, ctx):
    x, scale, bias, mean, var = node.inputs[:5]
    values = [ctx.const(v) for v in (scale, bias, mean, var)]
    if any(v is None for v in values):
        raise ctx.fail("the scale, bias, mean and variance must be parameters or constants")
    eps = float(node.attrs.get("epsilon", 1e-5))
    static = list(ctx.flat.shapes[x])
    if node.attrs.get("spatial"):
        names = [
            name if value.ndim == 1 else ctx.add_const("bn", np.reshape(value, -1))
            for name, value in zip((scale, bias, mean, var), values)
        ]
        ctx.add("BatchNormalization", [x] + names, node.outputs, epsilon=eps)
        return
    s, b, m, v = [np.asarray(a, dtype=np.float64).reshape(static) for a in values]
    mul = s / np.sqrt(v + eps)
    add = b - m * mul
    y = ctx.add("Mul", [x, ctx.add_const("scale", mul)], shape=ctx.shape(x))
    ctx.add("Add", [y, ctx.add_const("shift", add)], node.outputs)

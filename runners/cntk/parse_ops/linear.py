"""Times (Dense): x (batch, ..., K) times W (K..., out...) with CNTK's output rank."""

import numpy as np

from ..parse import PARSE


@PARSE.register("Times")
def times(node, ctx):
    x, w_name = node.inputs[0], node.inputs[1]
    w = ctx.const(w_name)
    if w is None or x not in ctx.flat.batched:
        raise ctx.fail("only data times a parameter (Dense) is converted", "use C.times(x, W) with W a parameter")
    out_rank = int(node.attrs.get("outputRank", 1))
    k_dims = list(w.shape[: w.ndim - out_rank])
    out_dims = list(w.shape[w.ndim - out_rank :])
    static = list(ctx.flat.shapes[x])
    front = static[: len(static) - len(k_dims)]
    if static[len(front) :] != k_dims:
        raise ctx.fail("input shape %s does not end with the weight's %s" % (static, k_dims))
    k, o = int(np.prod(k_dims)), int(np.prod(out_dims))
    batch = ctx.shape(x)[0]
    if len(k_dims) != 1:
        x = ctx.add("Reshape", [x, ctx.ints("shape", [batch] + front + [k])], shape=[batch] + front + [k])
    w2 = w_name if w.ndim == 2 else ctx.add_const("weight", np.reshape(w, (k, o)))
    if len(out_dims) == 1:
        ctx.add("MatMul", [x, w2], node.outputs)
        return
    y = ctx.add("MatMul", [x, w2], shape=[batch] + front + [o])
    ctx.add("Reshape", [y, ctx.ints("shape", [batch] + front + out_dims)], node.outputs)

"""Gemm and MatMul as Dense layers (constant weights) or keras.ops.matmul. Gemm arrives in its
fully connected form (LACKS Gemm.general: constant B, alpha = beta = 1, no transA)."""

import numpy as np

from ..codegen import EMIT, identity


def _dense(node, ctx, a, kernel, bias, outputs=None):
    """layers.Dense over the last axis of `a` (IR order); a bias that is not one value per unit is
    added after it."""
    units = kernel.shape[1]
    rank = ctx.need_rank(a)
    per_unit = (
        bias is not None
        and bias.ndim <= rank
        and all(d == 1 for d in bias.shape[:-1])
        and (bias.shape[-1:] in ((), (1,), (units,)))
    )
    ctor = "layers.Dense(%d%s)" % (units, "" if per_unit else ", use_bias=False")
    params = [kernel.astype(np.float32)]
    if per_unit:
        params.append(np.broadcast_to(bias.reshape(-1), (units,)))
    if bias is None or per_unit:
        ctx.layer(node, ctor, [ctx.x(a)], identity(rank), params=params, outputs=outputs)
        return
    hint = ctx.weight_hint(node)
    dense = ctx.layer_var(ctor, [ctx.x(a)], hint, params=params)
    key = ctx.store_const("%s_bias" % hint, np.asarray(bias, np.float32))
    ctx.assign(node, "keras.ops.add(%s, W[%r])" % (dense, key), identity(rank), outputs=outputs)


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA or alpha != 1.0 or beta != 1.0:
        raise ctx.fail("Gemm with transA, alpha or beta reaches the Keras emitter only unlegalized")
    w = ctx.need_const(node, 1, "the weight")
    c = ctx.need_const(node, 2, "the bias") if node.input(2) else None
    _dense(node, ctx, node.inputs[0], w.T if transB else w, c)


@EMIT.register("MatMul")
def matmul(node, ctx):
    a, b = node.inputs
    w = ctx.const(b)
    if w is not None and w.ndim == 2 and ctx.const(a) is None:
        nxt = ctx.sole_consumer(node.outputs[0])
        bias, outputs = None, node.outputs
        if nxt is not None and nxt.op_type == "Add":
            other = [i for i in nxt.inputs if i != node.outputs[0]]
            c = ctx.const(other[0]) if len(other) == 1 else None
            if c is not None and c.size == w.shape[1] and c.shape[-1] == w.shape[1]:
                bias, outputs = c, nxt.outputs
                ctx.absorb(nxt)
        _dense(node, ctx, a, w, bias, outputs)
        return
    args = [ctx.x(i) if ctx.const(i) is None else ctx.constant(i) for i in (a, b)]
    expr = "keras.ops.matmul(%s, %s)" % tuple(args)
    if ctx.dtype(node.outputs[0]) == np.float16:  # products summed in float32, as onnxruntime and numpy sum them
        expr = "keras.ops.cast(keras.ops.matmul(%s), 'float16')" % ", ".join("keras.ops.cast(%s, 'float32')" % v
                                                                           for v in args)  # fmt: skip
    ctx.assign(node, expr, identity(ctx.need_rank(node.outputs[0])))

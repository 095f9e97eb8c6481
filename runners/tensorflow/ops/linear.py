"""Gemm and MatMul as Dense layers (constant weights) or keras.ops.matmul."""

import numpy as np

from ..codegen import EMIT, identity


@EMIT.register("Gemm", since=13)
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    a = node.inputs[0]
    w = ctx.need_const(node, 1, "the weight")
    c = ctx.const(node.input(2)) if node.input(2) else None
    if transA or (node.input(2) and c is None):
        raise ctx.fail("Gemm with transA or a computed bias is not supported")
    kernel = (w.T if transB else w).astype(np.float32) * alpha
    units = kernel.shape[1]
    bias = None
    if c is not None:
        bias = np.broadcast_to(np.asarray(c, np.float32) * beta, (units,)).copy() if c.size in (1, units) else None
        if bias is None:
            raise ctx.fail("Gemm bias of shape %s is not per-unit" % list(c.shape))
    ctor = "layers.Dense(%d%s)" % (units, "" if bias is not None else ", use_bias=False")
    ctx.layer(node, ctor, [ctx.x(a)], identity(2), params=[kernel] + ([bias] if bias is not None else []))


@EMIT.register("MatMul", since=13)
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
                bias, outputs = c.reshape(-1).astype(np.float32), nxt.outputs
                ctx.absorb(nxt)
        rank = ctx.rank(a) or 2
        ctor = "layers.Dense(%d%s)" % (w.shape[1], "" if bias is not None else ", use_bias=False")
        params = [w.astype(np.float32)] + ([bias] if bias is not None else [])
        ctx.layer(node, ctor, [ctx.x(a)], identity(rank), params=params, outputs=outputs)
        return
    args = [ctx.x(i) if ctx.const(i) is None else ctx.constant(i) for i in (a, b)]
    ctx.assign(node, "keras.ops.matmul(%s, %s)" % tuple(args), identity(ctx.rank(node.outputs[0]) or 2))

"""Gemm, MatMul: data times a constant matrix (CNTK's times contracts the trailing axis)."""

import numpy as np

from . import EMIT


@EMIT.register("Gemm", since=11)
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA:
        raise ctx.fail("Gemm with transA has no CNTK form over the batch axis")
    b = ctx.need_const(1, "the Gemm weight")
    w = (b.T if transB else b) * alpha
    expr = ctx.call("times", ctx.x(node.input(0)), ctx.weight(node.input(1), w.astype(np.float32), "parameter"))
    c_name = node.input(2)
    if c_name:
        c = ctx.const(c_name)
        if c is None:
            raise ctx.fail("the Gemm bias must be a constant")
        c = np.asarray(c, dtype=np.float32) * beta
        if c.ndim == 2:
            c = c.reshape(-1) if c.shape[0] == 1 else c
        expr = "C.plus(%s, %s)" % (expr, ctx.weight(c_name, c, "parameter"))
    ctx.assign(node, expr)


@EMIT.register("MatMul", since=13)
def matmul(node, ctx):
    a, b = node.input(0), node.input(1)
    w = ctx.const(b)
    if w is None or w.ndim != 2 or ctx.const(a) is not None:
        raise ctx.fail("only data times a constant matrix is supported")
    ctx.assign(node, ctx.call("times", ctx.x(a), ctx.x(b, "parameter")))

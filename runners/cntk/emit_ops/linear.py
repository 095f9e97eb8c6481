"""Gemm, MatMul: data times a constant matrix (CNTK's times contracts the trailing axis)."""

import numpy as np

from ..emit import EMIT


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA:
        raise ctx.fail("Gemm with transA (the broker rewrites this form)")
    b = ctx.need_const(node, 1, "the Gemm weight")
    w = (b.T if transB else b) * alpha
    expr = ctx.call("times", ctx.x(node.input(0)), ctx.weight(node.input(1), w.astype(np.float32), "parameter"))
    c_name = node.input(2)
    if c_name:
        c = ctx.need_const(node, 2, "the Gemm bias")
        c = np.asarray(c, dtype=np.float32) * beta
        if c.ndim == 2 and c.shape[0] == 1:
            c = c.reshape(-1)
        elif c.ndim == 2 and ctx.is_batched(node.input(0)):
            raise ctx.fail("a Gemm bias that varies along the batch axis")
        expr = "C.plus(%s, %s)" % (expr, ctx.weight(c_name, c, "parameter"))
    ctx.assign(node, expr)


@EMIT.register("MatMul")
def matmul(node, ctx):
    """Data times a constant matrix, or (per batch entry) a matrix times a matrix: CNTK's times
    contracts the last axis of the first with the first axis of the second."""
    a, b = node.inputs[0], node.inputs[1]
    w = ctx.const(b)
    if w is not None and w.ndim == 2 and ctx.const(a) is None:
        ctx.assign(node, ctx.call("times", ctx.x(a), ctx.x(b, "parameter")))
        return
    if ctx.is_batched(a) and ctx.is_batched(b) and len(ctx.static_dims(a)) == len(ctx.static_dims(b)) == 2:
        ctx.assign(node, ctx.call("times", ctx.x(a), ctx.x(b)))
        return
    if ctx.const(a) is None and ctx.const(b) is None:
        _batched_product(node, ctx, a, b)
        return
    raise ctx.fail("a MatMul that is not data times a constant matrix, nor a product of matrices per batch entry")


def _batched_product(node, ctx, a, b):
    """A product of two computed tensors with leading (batch) axes, attention's Q K^T and its
    weights times V: CNTK's times has no batch axes of its own, so a [.., M, K, 1] times b
    [.., 1, K, N] element-wise (broadcasting), summed over K."""
    sa, sb = ctx.static_dims(a), ctx.static_dims(b)
    if len(sa) < 2 or len(sb) < 2 or len(sa) != len(sb) or ctx.is_batched(a) != ctx.is_batched(b):
        raise ctx.fail("a MatMul of computed tensors of shapes %s and %s (CNTK: equal ranks of at least 2)"
                       % (ctx.need_shape(a), ctx.need_shape(b)))  # fmt: skip
    lhs = ctx.call("reshape", ctx.x(a), tuple(sa) + (1,))
    rhs = ctx.call("reshape", ctx.x(b), tuple(sb[:-2]) + (1,) + tuple(sb[-2:]))
    products = ctx.temp(ctx.call("element_times", lhs, rhs), "products")
    summed = ctx.temp(ctx.call("reduce_sum", products, axis=len(sa) - 1), "summed")
    out = ctx.need_shape(node.outputs[0])
    ctx.assign(node, ctx.call("reshape", summed, tuple(out[1:] if ctx.is_batched(a) else out)))

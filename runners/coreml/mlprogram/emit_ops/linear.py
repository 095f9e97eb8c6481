"""Gemm (with a constant B: the broker rewrites its general form) and MatMul as MIL linear /
matmul."""

import numpy as np

from ..common import TO_MIL
from ._common import f32, named


@TO_MIL.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    """The form the broker leaves (LACKS Gemm.general): constant B, alpha = beta = 1, no transA."""
    from coremltools.converters.mil import Builder as mb

    if transA or alpha != 1.0 or beta != 1.0:
        raise ctx.fail("Gemm with transA, alpha or beta is rewritten by the broker before it reaches this emitter")

    w = ctx.need_const(node, 1, "Gemm's B")
    weight = f32(w if transB else w.T)  # [C_out, C_in]
    x = ctx.var(node.inputs[0])
    if not node.input(2):
        ctx.set(node, mb.linear(x=x, weight=weight, name=ctx.out(node)))
        return
    c = np.asarray(ctx.need_const(node, 2, "Gemm's C"))
    full = [1] * (2 - c.ndim) + list(c.shape)
    if full[0] == 1:
        bias = f32(np.broadcast_to(c.reshape(-1), (weight.shape[0],)))
        ctx.set(node, mb.linear(x=x, weight=weight, bias=bias, name=ctx.out(node)))
        return
    product = mb.linear(x=x, weight=weight, name=named(ctx, node, False))
    ctx.set(node, mb.add(x=product, y=f32(c), name=ctx.out(node)))


@TO_MIL.register("MatMul")
def matmul(node, ctx):
    """MIL matmul; a 1-D operand is a [1, K] row or a [K, 1] column, its axis dropped after (numpy's
    rule, ONNX's too)."""
    from coremltools.converters.mil import Builder as mb

    a, b = (ctx.x(n) for n in node.inputs[:2])
    if isinstance(a, np.ndarray):
        a = ctx.var(node.inputs[0])
    ra, rb = ctx.need_rank(node.inputs[0]), ctx.need_rank(node.inputs[1])
    if ra > 1 and rb > 1:
        ctx.set(node, mb.matmul(x=a, y=b, name=ctx.out(node)))
        return
    if ra == 1:
        a = mb.reshape(x=a, shape=np.array([1, -1], np.int32), name=named(ctx, node, False))
    if rb == 1 and isinstance(b, np.ndarray):
        b = b.reshape(-1, 1)
    elif rb == 1:
        b = mb.reshape(x=b, shape=np.array([-1, 1], np.int32), name=named(ctx, node, False))
    product = mb.matmul(x=a, y=b, name=named(ctx, node, False))
    shape = np.array(ctx.need_shape(node.outputs[0]), np.int32)
    ctx.set(node, mb.reshape(x=product, shape=shape, name=ctx.out(node)))

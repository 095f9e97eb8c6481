"""Gemm (with a constant B: the broker rewrites its general form) and MatMul by a constant: CoreML's
inner product on [N, F] values."""

import numpy as np

from ..context import EMIT, float32


def _inner_product(node, ctx, w, b):
    """y = x w^T + b, w [C_out, C_in]."""
    x = node.inputs[0]
    if ctx.need_rank(x) != 2:
        raise ctx.fail(
            "an inner product of a rank-%d value has no CoreML NeuralNetwork layer (it takes [N, F] values)"
            % ctx.rank(x),
        )
    ctx.builder.add_inner_product(
        ctx.layer(node),
        W=float32(w),
        b=None if b is None else float32(b),
        input_channels=w.shape[1],
        output_channels=w.shape[0],
        has_bias=b is not None,
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
    )


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    """The form the broker leaves (LACKS Gemm.general): constant B, alpha = beta = 1, no transA."""
    if transA or alpha != 1.0 or beta != 1.0:
        raise ctx.fail("Gemm with transA, alpha or beta is rewritten by the broker before it reaches this emitter")
    w = ctx.need_const(node, 1, "Gemm's B")
    w = w if transB else w.T
    b = None
    if node.input(2):
        c = np.asarray(ctx.need_const(node, 2, "Gemm's C"))
        full = [1] * (2 - c.ndim) + list(c.shape)
        if full[0] != 1 or full[1] not in (1, w.shape[0]):
            raise ctx.fail("Gemm's C of shape %s is not a bias (one value per output column)" % list(c.shape))
        b = np.broadcast_to(c.reshape(-1), (w.shape[0],))
    _inner_product(node, ctx, w, b)


@EMIT.register("MatMul")
def matmul(node, ctx):
    w = ctx.const(node.input(1))
    if w is None or w.ndim != 2:
        raise ctx.fail("MatMul converts to an inner product only with a constant 2-D right operand")
    _inner_product(node, ctx, w.T, None)

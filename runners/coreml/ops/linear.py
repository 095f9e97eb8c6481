"""Gemm and MatMul with a constant weight: CoreML's inner product on [N, F] values."""

from ..context import EMIT, float32


def _inner_product(node, ctx, w, b):
    x = node.input(0)
    if ctx.rank(x) != 2:
        raise ctx.fail("an inner product of a rank-%s value is not converted (flatten it first)" % ctx.rank(x))
    ctx.builder.add_inner_product(
        ctx.layer(node),
        W=w,
        b=b,
        input_channels=w.shape[1],
        output_channels=w.shape[0],
        has_bias=b is not None,
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
    )


@EMIT.register("Gemm", since=13)
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA:
        raise ctx.fail("Gemm with transA=1 has no CoreML inner product equivalent")
    w = ctx.const(node.input(1))
    if w is None:
        raise ctx.fail("Gemm's B is computed at run time; CoreML's inner product needs constant weights")
    w = float32(w if transB else w.T)
    if alpha != 1.0:
        w = float32(w * alpha)
    b = None
    if node.input(2):
        c = ctx.const(node.input(2))
        if c is None or c.size not in (1, w.shape[0]):
            raise ctx.fail("Gemm's C must be a constant bias of %d values" % w.shape[0])
        b = float32(c).reshape(-1)
        if b.size == 1:
            b = float32([b[0]] * w.shape[0])
        if beta != 1.0:
            b = float32(b * beta)
    _inner_product(node, ctx, w, b)


@EMIT.register("MatMul", since=13)
def matmul(node, ctx):
    w = ctx.const(node.input(1))
    if w is None or w.ndim != 2:
        raise ctx.fail("MatMul converts to an inner product only with a constant 2-D right operand")
    _inner_product(node, ctx, float32(w.T), None)

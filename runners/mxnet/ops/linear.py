"""Gemm, MatMul."""

from ..codegen import EMIT


@EMIT.register("Gemm", since=11)
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    a, b, c = node.input(0), node.input(1), node.input(2)
    bval = ctx.const(b)
    cval = ctx.const(c) if c else None
    if not transA and alpha == 1.0 and bval is not None and (c is None or (cval is not None and cval.ndim <= 1)):
        weight = bval if transB else bval.T.copy()
        w = ctx.param(b if transB else b + "_t", weight)
        args = [ctx.x(a), w]
        if c is not None:
            bias = cval.reshape(-1) * beta
            if bias.size == 1:
                bias = bias.repeat(weight.shape[0])
            args.append(ctx.param(c, bias.astype(cval.dtype)))
        expr = ctx.call("FullyConnected", *args, num_hidden=weight.shape[0], no_bias=True if c is None else None)
        ctx.assign(node, expr)
        return
    prod = ctx.call("linalg_gemm2", ctx.x(a), ctx.x(b), transpose_a=bool(transA), transpose_b=bool(transB), alpha=alpha)
    if c is None:
        ctx.assign(node, prod)
        return
    p = ctx.temp(prod, "ab")
    cx = ctx.x(c)
    if beta != 1.0:
        cx = "(%s * %r)" % (cx, float(beta))
    ctx.assign(node, ctx.call("broadcast_add", p, cx))


@EMIT.register("MatMul", since=13)
def matmul(node, ctx):
    a, b = node.input(0), node.input(1)
    sa, sb = ctx.need_shape(a), ctx.need_shape(b)
    if len(sb) == 2:
        ctx.assign(node, ctx.call("dot", ctx.x(a), ctx.x(b)))
    elif len(sa) == len(sb) == 3:
        ctx.assign(node, ctx.call("batch_dot", ctx.x(a), ctx.x(b)))
    else:
        raise ctx.fail("MatMul of shapes %s and %s is not supported" % (sa, sb))

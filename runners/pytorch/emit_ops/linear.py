"""Gemm, MatMul."""

import numpy as np

from ..codegen import EMIT, lit


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    a, b_name, c_name = node.input(0), node.input(1), node.input(2)
    b = ctx.const(b_name)
    c = ctx.const(c_name) if c_name else None
    if b is not None and not transA and (c_name is None or c is not None):
        weight = b if transB else b.T
        n, k = weight.shape
        bias = None
        if c is not None and (c.size in (1, n)) and (c.ndim <= 1 or c.shape == (1, n)):
            bias = np.broadcast_to(c.reshape(-1), (n,)).astype(c.dtype)
        if c is None or bias is not None:
            params = {"weight": (weight * np.asarray(alpha, weight.dtype)) if alpha != 1.0 else weight}
            if bias is not None:
                params["bias"] = bias * np.asarray(beta, bias.dtype) if beta != 1.0 else bias
            mod = ctx.module(
                node,
                "nn.Linear(%d, %d%s)" % (k, n, ", bias=False" if bias is None else ""),
                params,
                hint=ctx.weight_hint(b_name),
            )
            ctx.assign(node, "%s(%s)" % (mod, ctx.x(a)), prefer=mod)
            return
    av = ctx.x(a) + (".t()" if transA else "")
    bv = ctx.x(b_name) + (".t()" if transB else "")
    expr = "torch.matmul(%s, %s)" % (av, bv)
    if alpha != 1.0:
        expr = "%s * %s" % (lit(np.float32(alpha)), expr)
    if c_name:
        cv = ctx.operand(c_name, a)
        expr = "%s + %s" % (expr, cv if beta == 1.0 else "%s * %s" % (lit(np.float32(beta)), cv))
    ctx.assign(node, expr)


@EMIT.register("MatMul")
def matmul(node, ctx):
    a, b_name = node.inputs[0], node.inputs[1]
    b = ctx.const(b_name)
    if b is not None and b.ndim == 2 and ctx.const(a) is None:
        k, n = b.shape
        bias_name, add = _bias_add(node, ctx, n)
        if add is not None:
            # MatMul + Add(bias) is how torch.onnx writes nn.Linear on 3-D inputs: one layer again
            bias = ctx.const(bias_name).reshape(n)
            hint = ctx.weight_hint(bias_name)
            if hint == bias_name:
                hint = ctx.weight_hint(b_name)
            mod = ctx.module(node, "nn.Linear(%d, %d)" % (k, n), {"weight": b.T, "bias": bias}, hint=hint)
            ctx.absorb(add)
            ctx.assign(add, "%s(%s)" % (mod, ctx.x(a)), prefer=mod)
            return
        mod = ctx.module(node, "nn.Linear(%d, %d, bias=False)" % (k, n), {"weight": b.T}, hint=ctx.weight_hint(b_name))
        ctx.assign(node, "%s(%s)" % (mod, ctx.x(a)), prefer=mod)
        return
    ctx.assign(node, "torch.matmul(%s, %s)" % (ctx.x(a), ctx.x(b_name)))


def _bias_add(node, ctx, n):
    """(bias value name, Add node) when the MatMul's only reader adds a constant [n] bias."""
    add = ctx.sole_consumer(node.outputs[0])
    if add is None or add.op_type != "Add":
        return None, None
    other = [i for i in add.inputs if i != node.outputs[0]]
    if len(other) != 1:
        return None, None
    c = ctx.const(other[0])
    if c is None or c.size != n or c.ndim > 1 or (c.ndim == 1 and c.shape[0] != n):
        return None, None
    if ctx.dtype(other[0]) != ctx.dtype(node.inputs[1]):
        return None, None
    return other[0], add

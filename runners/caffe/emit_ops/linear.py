"""Gemm and MatMul with constant weights -> InnerProduct (weights stored (num_output, K)); a Gemm bias
that is not one row becomes a Bias layer. Gemm's general form (transA, alpha, beta, a computed B)
is rewritten by the broker (LACKS Gemm.general)."""

import numpy as np

from ..emit import EMIT


def _inner_product(node, ctx, w, bias, axis, top):
    layer = ctx.layer("InnerProduct", [ctx.blob(node.inputs[0])], [top])
    p = layer.inner_product_param
    p.num_output = int(w.shape[0])
    p.bias_term = bias is not None
    p.axis = axis
    ctx.add_blob(layer, w)
    if bias is not None:
        ctx.add_blob(layer, bias)
    return top


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA or alpha != 1.0 or beta != 1.0:
        raise ctx.fail("Gemm with transA, alpha or beta (the broker rewrites this form)")
    w = ctx.need_const(node, 1, "the weight")
    w = w if transB else w.T
    c = ctx.need_const(node, 2, "the bias") if node.input(2) else None
    if c is None or (c.size == w.shape[0] and (c.ndim == 1 or c.shape[0] == 1)):
        _inner_product(node, ctx, w, None if c is None else c.reshape(-1), 1, node.outputs[0])
        return
    out = ctx.need_shape(node.outputs[0])
    product = _inner_product(node, ctx, w, None, 1, ctx.temp("product"))
    layer = ctx.layer("Bias", [product], [node.outputs[0]])
    layer.bias_param.axis, layer.bias_param.num_axes = 0, 2
    ctx.add_blob(layer, np.broadcast_to(np.asarray(c, np.float32), out))


@EMIT.register("MatMul")
def matmul(node, ctx):
    if ctx.const(node.inputs[1]) is None:
        raise ctx.fail("a product of two computed tensors; Caffe's InnerProduct holds its weights")
    w = ctx.need_const(node, 1, "the weight")
    rank = ctx.need_rank(node.inputs[0])
    if w.ndim != 2:
        raise ctx.fail("MatMul with a %d-D weight" % w.ndim)
    _inner_product(node, ctx, w.T, None, rank - 1, node.outputs[0])

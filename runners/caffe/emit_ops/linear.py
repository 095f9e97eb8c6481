"""Gemm and MatMul with constant weights -> InnerProduct (weights stored (num_output, K))."""

import numpy as np

from ..emit import EMIT
from ._common import weight


def _inner_product(node, ctx, w, bias, axis):
    layer = ctx.layer("InnerProduct", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    p = layer.inner_product_param
    p.num_output = int(w.shape[0])
    p.bias_term = bias is not None
    p.axis = axis
    ctx.add_blob(layer, w)
    if bias is not None:
        ctx.add_blob(layer, bias)


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    if transA:
        raise ctx.fail("Gemm with transA")
    w = weight(ctx, node.inputs[1], "weight")
    w = (w if transB else w.T) * np.float32(alpha)
    bias = None
    if node.input(2):
        c = weight(ctx, node.input(2), "bias")
        if c.size not in (1, w.shape[0]) or (c.ndim == 2 and c.shape[0] != 1):
            raise ctx.fail("Gemm bias of shape %s" % list(c.shape))
        bias = np.broadcast_to(c.reshape(-1), (w.shape[0],)) * np.float32(beta)
    _inner_product(node, ctx, w, bias, 1)


@EMIT.register("MatMul")
def matmul(node, ctx):
    w = weight(ctx, node.inputs[1], "weight")
    rank = len(ctx.static_shape(node.inputs[0]))
    if w.ndim != 2:
        raise ctx.fail("MatMul with a %d-D weight" % w.ndim)
    _inner_product(node, ctx, w.T, None, rank - 1)

"""Gemm in its general form (transA, alpha, beta, a computed B) as the fully connected form every
target has: Gemm(A, B, C) with a constant B (transB either way), alpha = beta = 1 and transA = 0.
alpha and beta are multiplied into the constants; transA becomes a Transpose; a computed B makes
MatMul (+ Mul by alpha, + Add of beta * C)."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


def _is_general(node: onnx.NodeProto, ed: GraphEditor) -> bool:
    return bool(
        attr(node, "transA", 0)
        or attr(node, "alpha", 1.0) != 1.0
        or attr(node, "beta", 1.0) != 1.0
        or not ed.is_const(node.input[1])
    )


@rewrite("Gemm", form="Gemm.general", produces=("Gemm", "Transpose", "MatMul", "Mul", "Add"))
def gemm_as_fully_connected(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    if not _is_general(node, ed):
        return None
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else ""
    alpha, beta = float(attr(node, "alpha", 1.0)), float(attr(node, "beta", 1.0))
    trans_a, trans_b = int(attr(node, "transA", 0)), int(attr(node, "transB", 0))
    out, name = node.output[0], node.name or "gemm"
    nodes = []
    if trans_a:
        at = ed.fresh(out + "_a_t")
        nodes.append(ed.node("Transpose", [a], [at], name + "_transA", perm=[1, 0]))
        a = at
    b_const, c_const = ed.const(b), ed.const(c) if c else None
    if b_const is not None and (not c or c_const is not None):
        b_new = ed.add_const(b + "_scaled", (b_const * np.asarray(alpha, b_const.dtype)).astype(b_const.dtype))
        inputs = [a, b_new]
        if c and c_const is not None:
            c_new = (c_const * np.asarray(beta, c_const.dtype)).astype(c_const.dtype)
            inputs.append(ed.add_const(c + "_scaled", c_new))
        nodes.append(ed.node("Gemm", inputs, [out], name, transB=trans_b))
        return nodes
    if trans_b:
        bt = ed.fresh(out + "_b_t")
        nodes.append(ed.node("Transpose", [b], [bt], name + "_transB", perm=[1, 0]))
        b = bt
    prod = out if alpha == 1.0 and not c else ed.fresh(out + "_matmul")
    nodes.append(ed.node("MatMul", [a, b], [prod], name + "_matmul"))
    if alpha != 1.0:
        scaled = out if not c else ed.fresh(out + "_alpha")
        factor = ed.add_const(out + "_alpha_c", np.float32(alpha))
        nodes.append(ed.node("Mul", [prod, factor], [scaled], name + "_alpha"))
        prod = scaled
    if c:
        cc = c
        if beta != 1.0:
            cc = ed.fresh(out + "_beta")
            nodes.append(ed.node("Mul", [c, ed.add_const(out + "_beta_c", np.float32(beta))], [cc], name + "_beta"))
        nodes.append(ed.node("Add", [prod, cc], [out], name + "_add"))
    return nodes

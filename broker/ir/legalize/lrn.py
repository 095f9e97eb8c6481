"""LRN for targets without it, by its ONNX definition:
y = x / (bias + alpha / size * sum of x^2 over the channel window) ^ beta, the window
[c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]. The window sum is a 1x1 convolution with a
constant 0/1 band matrix over the channels (the channel count must be known)."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


def _lrn(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    shape = ed.shape(node.input[0])
    if shape is None or len(shape) < 3 or shape[1] is None:
        return None
    c, k = int(shape[1]), len(shape) - 2
    size = int(attr(node, "size"))
    alpha, beta = float(attr(node, "alpha", 1e-4)), float(attr(node, "beta", 0.75))
    bias = float(attr(node, "bias", 1.0))
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    band = np.zeros((c, c) + (1,) * k, np.float32)
    for i in range(c):
        band[i, max(0, i - lo) : min(c, i + hi + 1)] = 1.0
    x, out, name = node.input[0], node.output[0], node.name or "lrn"
    sq, win, scaled, base, den = (ed.fresh(f"{out}_{s}") for s in ("square", "window", "scaled", "base", "denominator"))
    return [
        ed.node("Mul", [x, x], [sq], name + "_square"),
        ed.node("Conv", [sq, ed.add_const(out + "_band", band)], [win], name + "_window_sum"),
        ed.node("Mul", [win, ed.add_const(out + "_alpha", np.float32(alpha / size))], [scaled], name + "_alpha"),
        ed.node("Add", [scaled, ed.add_const(out + "_bias", np.float32(bias))], [base], name + "_bias"),
        ed.node("Pow", [base, ed.add_const(out + "_beta", np.float32(beta))], [den], name + "_beta"),
        ed.node("Div", [x, den], [out], name + "_normalize"),
    ]


@rewrite("LRN", produces=("Mul", "Conv", "Add", "Pow", "Div"))
def lrn_as_window_sum(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    return _lrn(node, ed)


@rewrite("LRN", form="LRN.even_size", produces=("Mul", "Conv", "Add", "Pow", "Div"))
def lrn_even_size_as_window_sum(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    """For targets whose LRN centres an even window differently from ONNX (one more channel before
    than after)."""
    return _lrn(node, ed) if int(attr(node, "size")) % 2 == 0 else None

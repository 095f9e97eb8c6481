"""HardSigmoid, HardSwish and Mish for targets without them, by their ONNX definitions:
HardSigmoid(x) = max(0, min(1, alpha * x + beta)); HardSwish(x) = x * HardSigmoid(x) with alpha 1/6
and beta 1/2, written with Clip where the target has it, else as Relu(t) - Relu(t - 1);
Mish(x) = x * tanh(softplus(x)) (YOLOv4's activation)."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


def _scalar(ed: GraphEditor, hint: str, value: float, like: str) -> str:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(ed.dtypes.get(like, onnx.TensorProto.FLOAT))
    return ed.add_const(hint, np.array(value, dtype=dtype))


def _hard_sigmoid(node, ed, x, alpha, beta, out, with_clip):
    name = node.name or node.op_type
    t, u = ed.fresh(out + "_scaled"), ed.fresh(out + "_shifted")
    new = [
        ed.node("Mul", [x, _scalar(ed, out + "_alpha", alpha, x)], [t], name + "_alpha"),
        ed.node("Add", [t, _scalar(ed, out + "_beta", beta, x)], [u], name + "_beta"),
    ]
    if with_clip:
        lo, hi = _scalar(ed, out + "_zero", 0.0, x), _scalar(ed, out + "_one", 1.0, x)
        new.append(ed.node("Clip", [u, lo, hi], [out], name + "_clip"))
        return new
    r1, v, r2 = ed.fresh(out + "_floor"), ed.fresh(out + "_minus_one"), ed.fresh(out + "_over")
    new += [
        ed.node("Relu", [u], [r1], name + "_relu"),
        ed.node("Sub", [u, _scalar(ed, out + "_one", 1.0, x)], [v], name + "_minus_one"),
        ed.node("Relu", [v], [r2], name + "_relu_over"),
        ed.node("Sub", [r1, r2], [out], name + "_cap"),
    ]
    return new


@rewrite("HardSigmoid", produces=("Mul", "Add", "Clip"))
def hard_sigmoid_as_clip(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    alpha, beta = float(attr(node, "alpha", 0.2)), float(attr(node, "beta", 0.5))
    return _hard_sigmoid(node, ed, node.input[0], alpha, beta, node.output[0], True)


@rewrite("HardSigmoid", produces=("Mul", "Add", "Relu", "Sub"))
def hard_sigmoid_as_relus(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    alpha, beta = float(attr(node, "alpha", 0.2)), float(attr(node, "beta", 0.5))
    return _hard_sigmoid(node, ed, node.input[0], alpha, beta, node.output[0], False)


def _hard_swish(node: onnx.NodeProto, ed: GraphEditor, with_clip: bool) -> list:
    x, out = node.input[0], node.output[0]
    gate = ed.fresh(out + "_gate")
    new = _hard_sigmoid(node, ed, x, 1.0 / 6.0, 0.5, gate, with_clip)
    return new + [ed.node("Mul", [x, gate], [out], (node.name or "hard_swish") + "_mul")]


@rewrite("HardSwish", produces=("Mul", "Add", "Clip"))
def hard_swish_as_clip(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    return _hard_swish(node, ed, True)


@rewrite("HardSwish", produces=("Mul", "Add", "Relu", "Sub"))
def hard_swish_as_relus(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    return _hard_swish(node, ed, False)


@rewrite("Mish", produces=("Softplus", "Tanh", "Mul"))
def mish_as_softplus_tanh(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    x, out = node.input[0], node.output[0]
    name = node.name or "mish"
    soft, gate = ed.fresh(out + "_softplus"), ed.fresh(out + "_tanh")
    return [
        ed.node("Softplus", [x], [soft], name + "_softplus"),
        ed.node("Tanh", [soft], [gate], name + "_tanh"),
        ed.node("Mul", [x, gate], [out], name + "_mul"),
    ]

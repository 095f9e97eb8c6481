"""DepthToSpace (DCR and CRD) and SpaceToDepth as Reshape -> Transpose -> Reshape, for targets
without the op (ONNX defines both ops by exactly these reshapes)."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


def _three_steps(node: onnx.NodeProto, ed: GraphEditor, first: list[int], perm: list[int], last: list[int]) -> list:
    out = node.output[0]
    a, b = ed.fresh(out + "_split"), ed.fresh(out + "_moved")
    s1 = ed.add_const(out + "_shape1", np.array(first, np.int64))
    s2 = ed.add_const(out + "_shape2", np.array(last, np.int64))
    name = node.name or node.op_type
    return [
        ed.node("Reshape", [node.input[0], s1], [a], name + "_split"),
        ed.node("Transpose", [a], [b], name + "_move", perm=perm),
        ed.node("Reshape", [b, s2], [out], name + "_merge"),
    ]


@rewrite("DepthToSpace", produces=("Reshape", "Transpose"))
def depth_to_space_as_reshapes(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    shape = ed.shape(node.input[0])
    if shape is None or len(shape) != 4 or any(d is None for d in shape[1:]):
        return None
    b = int(attr(node, "blocksize"))
    c, h, w = (int(d or 0) for d in shape[1:])
    n = 0  # Reshape's 0 copies the batch dimension, known or not
    merged = [n, c // (b * b), h * b, w * b]
    if attr(node, "mode", "DCR") == "CRD":
        return _three_steps(node, ed, [n, c // (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3], merged)
    return _three_steps(node, ed, [n, b, b, c // (b * b), h, w], [0, 3, 4, 1, 5, 2], merged)


@rewrite("SpaceToDepth", produces=("Reshape", "Transpose"))
def space_to_depth_as_reshapes(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    shape = ed.shape(node.input[0])
    if shape is None or len(shape) != 4 or any(d is None for d in shape[1:]):
        return None
    b = int(attr(node, "blocksize"))
    c, h, w = (int(d or 0) for d in shape[1:])
    return _three_steps(node, ed, [0, c, h // b, b, w // b, b], [0, 3, 5, 1, 2, 4], [0, c * b * b, h // b, w // b])

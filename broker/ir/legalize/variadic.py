"""Sum, Max, Min and Mean of n inputs as chains of two-input ops (Add, Max, Min; Mean as the Sum
chain times 1/n), for targets whose layers take two inputs or have no such op."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor
from .registry import rewrite

PAIRWISE = {"Sum": "Add", "Max": "Max", "Min": "Min", "Mean": "Add"}


def _chain(node: onnx.NodeProto, ed: GraphEditor, pair_op: str) -> list[onnx.NodeProto] | None:
    inputs = [i for i in node.input if i]
    if len(inputs) < 2:
        return None
    out = node.output[0]
    last = out if node.op_type != "Mean" else ed.fresh(out + "_sum")
    nodes = []
    acc = inputs[0]
    for k, x in enumerate(inputs[1:], start=1):
        dst = last if k == len(inputs) - 1 else ed.fresh(f"{out}_{pair_op.lower()}{k}")
        nodes.append(ed.node(pair_op, [acc, x], [dst], f"{node.name or node.op_type}_{k}"))
        acc = dst
    if node.op_type == "Mean":
        dtype = onnx.helper.tensor_dtype_to_np_dtype(ed.dtypes.get(inputs[0], onnx.TensorProto.FLOAT))
        inv = ed.add_const(out + "_inv_n", np.array(1.0 / len(inputs), dtype=dtype))
        nodes.append(ed.node("Mul", [last, inv], [out], f"{node.name or 'mean'}_scale"))
    return nodes


@rewrite("Sum", produces=("Add",))
def sum_as_adds(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Add")


@rewrite("Sum", form="Sum.variadic", produces=("Add",))
def sum_of_n_as_adds(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Add") if len([i for i in node.input if i]) > 2 else None


@rewrite("Mean", produces=("Add", "Mul"))
def mean_as_adds(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Add")


@rewrite("Mean", form="Mean.variadic", produces=("Add", "Mul"))
def mean_of_n_as_adds(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Add") if len([i for i in node.input if i]) > 2 else None


@rewrite("Max", form="Max.variadic", produces=("Max",))
def max_of_n_as_pairs(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Max") if len([i for i in node.input if i]) > 2 else None


@rewrite("Min", form="Min.variadic", produces=("Min",))
def min_of_n_as_pairs(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _chain(node, ed, "Min") if len([i for i in node.input if i]) > 2 else None

"""Graph passes on the IR. Layout transposes inserted by NHWC parsers are removed here.

`eliminate_transposes` removes identity Transposes, merges chains of Transposes (a pair whose
permutations cancel disappears) and folds a Transpose into a reduction that drops the reduced axes
and keeps the others in their order (the NHWC global pooling `ReduceMean(Transpose(x), [1, 2])` of
a Keras model reads x directly). It keeps graph outputs' names. Runs to a fixed point.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from .weights import array_of

REDUCTIONS = {
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
}  # fmt: skip


def _perm(node: onnx.NodeProto) -> list[int] | None:
    for a in node.attribute:
        if a.name == "perm":
            return list(a.ints)
    return None


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            out.setdefault(i, []).append(n)
    return out


def _rename_input(graph: onnx.GraphProto, old: str, new: str) -> None:
    for n in graph.node:
        for k, name in enumerate(n.input):
            if name == old:
                n.input[k] = new


def _attr_int(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def _const_value(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    for init in graph.initializer:
        if init.name == name:
            return array_of(init)
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    return None


def _fold_into_reduction(
    graph: onnx.GraphProto, transpose: onnx.NodeProto, perm: list[int], reduce: onnx.NodeProto
) -> bool:
    """Reduce(Transpose(x, perm), axes, keepdims=0) == Reduce(x, perm[axes], keepdims=0) when the kept
    axes stay in order. Rewrites `reduce` to read x; returns whether it did."""
    if _attr_int(reduce, "keepdims", 1) != 0:
        return False
    rank = len(perm)
    attr = [a for a in reduce.attribute if a.name == "axes"]
    if attr:
        axes = list(attr[0].ints)
    elif len(reduce.input) > 1 and reduce.input[1]:
        value = _const_value(graph, reduce.input[1])
        if value is None:
            return False
        axes = [int(a) for a in value.reshape(-1)]
    else:
        return False  # all axes, or none with noop_with_empty_axes: leave it
    axes = sorted(a % rank for a in axes)
    kept = [perm[i] for i in range(rank) if i not in axes]
    if kept != sorted(kept):
        return False
    new_axes = sorted(perm[a] for a in axes)
    reduce.input[0] = transpose.input[0]
    if attr:
        del attr[0].ints[:]
        attr[0].ints.extend(new_axes)
    else:
        name = reduce.name + "__axes" if reduce.name else transpose.output[0] + "__axes"
        graph.initializer.append(numpy_helper.from_array(np.array(new_axes, np.int64), name))
        reduce.input[1] = name
    return True


def count_transposes(model: onnx.ModelProto) -> int:
    return sum(1 for n in model.graph.node if n.op_type == "Transpose")


def eliminate_transposes(model: onnx.ModelProto) -> onnx.ModelProto:
    model_out = onnx.ModelProto()
    model_out.CopyFrom(model)
    g = model_out.graph
    changed = True
    while changed:
        changed = False
        outputs = {o.name for o in g.output}
        consumers = _consumers(g)
        for node in list(g.node):
            if node.op_type != "Transpose":
                continue
            perm = _perm(node)
            if perm is None:
                continue
            src, dst = node.input[0], node.output[0]
            # identity permutation: drop the node
            if perm == sorted(perm) and dst not in outputs:
                _rename_input(g, dst, src)
                g.node.remove(node)
                changed = True
                break
            users = consumers.get(dst, [])
            # Transpose -> reduction dropping axes, with no other consumer: read the source directly
            if len(users) == 1 and users[0].op_type in REDUCTIONS and dst not in outputs:
                if _fold_into_reduction(g, node, perm, users[0]):
                    g.node.remove(node)
                    changed = True
                    break
            # Transpose -> Transpose with no other consumer: compose
            if len(users) == 1 and users[0].op_type == "Transpose" and dst not in outputs:
                nxt = users[0]
                p2 = _perm(nxt)
                if p2 is None or len(p2) != len(perm):
                    continue
                composed = [perm[i] for i in p2]
                nxt.input[0] = src
                del nxt.attribute[:]
                nxt.attribute.extend([onnx.helper.make_attribute("perm", composed)])
                g.node.remove(node)
                changed = True
                break
    return model_out

"""Graph passes on the IR. Layout transposes inserted by NHWC parsers are removed here.

`eliminate_transposes` removes identity Transposes and merges chains of Transposes (a pair whose
permutations cancel disappears). It keeps graph outputs' names. Runs to a fixed point.
"""

from __future__ import annotations

import onnx


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
            # Transpose -> Transpose with no other consumer: compose
            users = consumers.get(dst, [])
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

"""A small editor over an ONNX graph for legalization rewrites: constants, static shapes, fresh
names, and replacing one node by several."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..weights import LazyArrays


class GraphEditor:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.graph = model.graph
        self.consts = LazyArrays(self.graph)  # weights are read only where a rewrite looks at them
        self.shapes: dict[str, list[int | None]] = {}
        self.dtypes: dict[str, int] = {}
        g = self.graph
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            t = vi.type.tensor_type
            if t.elem_type:
                self.dtypes[vi.name] = t.elem_type
            if t.HasField("shape"):
                self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                                        for d in t.shape.dim]  # fmt: skip
        for init in g.initializer:
            self.shapes[init.name] = list(init.dims)
            self.dtypes[init.name] = init.data_type
        self.producer: dict[str, onnx.NodeProto] = {o: n for n in g.node for o in n.output if o}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in g.output}
        self._names = {n for node in g.node for n in list(node.input) + list(node.output)}
        self._names |= set(self.consts) | {i.name for i in g.input} | {o.name for o in g.output}
        self._names |= {n.name for n in g.node}

    def sole_consumer(self, name: str) -> onnx.NodeProto | None:
        """The one node reading `name`, when nothing else (no other node, no graph output) does."""
        users = self.consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in self.graph_outputs else None

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name) if name else None

    def is_const(self, name: str) -> bool:
        """Whether `name` is an initializer (without reading its value)."""
        return bool(name) and name in self.consts

    def shape(self, name: str) -> list[int | None] | None:
        return self.shapes.get(name)

    def static_shape(self, name: str) -> list[int] | None:
        s = self.shapes.get(name)
        if s is None or any(d is None for d in s):
            return None
        return [int(d or 0) for d in s]

    def fresh(self, hint: str) -> str:
        name, k = hint, 1
        while name in self._names:
            k += 1
            name = f"{hint}_{k}"
        self._names.add(name)
        return name

    def add_const(self, hint: str, value: Any, dtype: Any = None) -> str:
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.graph.initializer.append(numpy_helper.from_array(arr, name))
        self.consts[name] = arr
        self.shapes[name] = list(arr.shape)
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], name: str, **attrs: Any) -> onnx.NodeProto:
        return helper.make_node(op, inputs, outputs, name=self.fresh(name), **attrs)

    def forget_shapes(self, values: list[str]) -> None:
        """Drop the shapes recorded for `values`, for shape inference to infer them again from the
        nodes that now compute them (ONNX's inference and its runtimes disagree on some ops'
        output sizes)."""
        gone = set(values)
        kept = [vi for vi in self.graph.value_info if vi.name not in gone]
        del self.graph.value_info[:]
        self.graph.value_info.extend(kept)
        for o in self.graph.output:
            if o.name in gone:
                o.type.tensor_type.ClearField("shape")


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default

"""Valid ranges of integer graph inputs, read from the graph, for seeded verification inputs.

An integer input that (through shape-only ops such as Cast, Reshape or Unsqueeze) gives the indices
of a Gather reading a table of known size, as token ids read an embedding table, must stay inside
that table: random values from the default range would index past its end (an error in one
framework, garbage in another) and verification would prove nothing.
"""

from __future__ import annotations

import onnx

from runners.common import ir as common_ir

# ops whose output holds the same integers as their first input
PASS_THROUGH = {"Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Transpose", "Expand", "Tile"}


def _static_dims(model: onnx.ModelProto) -> dict[str, list[int | None]]:
    dims: dict[str, list[int | None]] = {}
    for init in model.graph.initializer:
        dims[init.name] = [int(d) for d in init.dims]
    for vi in list(model.graph.value_info) + list(model.graph.input):
        if vi.name not in dims and vi.type.HasField("tensor_type"):
            dims[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
    return dims


def integer_input_ranges(model: onnx.ModelProto) -> dict[str, tuple[int, int]]:
    """{input name: (low, high)} for the integer graph inputs whose values index a Gather's table:
    values in [0, size of the gathered axis), the smallest such size when several tables are read."""
    dims = _static_dims(model)
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for i in node.input:
            readers.setdefault(i, []).append(node)
    out: dict[str, tuple[int, int]] = {}
    for vi in common_ir.graph_inputs(model):
        elem = vi.type.tensor_type.elem_type
        if elem not in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            continue
        sizes = []
        pending, seen = [vi.name], set()
        while pending:
            value = pending.pop()
            seen.add(value)
            for node in readers.get(value, []):
                if node.op_type in PASS_THROUGH and node.input[0] == value:
                    pending += [o for o in node.output if o and o not in seen]
                elif node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == value:
                    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                    table = dims.get(node.input[0])
                    size = table[axis] if table and -len(table) <= axis < len(table) else None
                    if size:
                        sizes.append(int(size))
        if sizes:
            out[vi.name] = (0, min(sizes))
    return out

"""Free input dimensions kept free in a graph a parser made at fixed sizes.

Parsers run the source framework at one concrete shape (MXNet, Caffe and TorchScript need one to
trace or infer), so a graph they return has the batch (or a sequence length) fixed, and the
canonical form has folded the shape arithmetic of reshapes into constants holding that size
(`Reshape(x, [1, 196])`). `free_input_dims` names the dimensions the user left free
(`--inputShape 3,224,224`, `N,3,224,224`, `?,seq`) as symbolic dimensions of the inputs and turns
each reshape constant that holds a freed dimension's parse-time value, at the position where the
data carries that dimension, into ONNX's "copy this dimension" 0, until shape inference carries
the symbol to the outputs. A graph that hard-codes the size elsewhere (no output follows the
symbol, or shape inference finds a contradiction) is left as it was, and the reason is returned.

Written here because no ONNX library does it: onnx's `update_inputs_outputs_dims` renames the
input dimensions but leaves the folded reshape constants, which then contradict them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import onnx
from onnx import numpy_helper

from .weights import without_data

FreeAxes = dict[str, dict[int, str]]  # input -> {axis: dimension name}
# metadata: the shapes the parser saw of the inputs whose dimensions were freed (JSON), the sizes a
# target that cannot keep them free is given
PARSE_SIZES_KEY = "mmbroker.parse_sizes"


def parse_sizes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """The parse-time shapes `free_input_dims` recorded in `model` (empty when it freed nothing)."""
    for p in model.metadata_props:
        if p.key == PARSE_SIZES_KEY:
            try:
                return {str(k): [int(d) for d in v] for k, v in json.loads(p.value).items()}
            except (ValueError, TypeError, AttributeError):
                return {}
    return {}


def free_input_dims(model: onnx.ModelProto, free: FreeAxes) -> tuple[onnx.ModelProto, str]:
    """`model` with the `free` dimensions of its inputs symbolic, and "" ; or `model` unchanged and
    why they could not be freed. The input is not modified."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    values: dict[str, int] = {}  # dimension name -> the size the parser saw
    seen: dict[str, list[int]] = {}
    for vi in out.graph.input:
        dims = vi.type.tensor_type.shape.dim
        if vi.name in free:
            seen[vi.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
        for axis, name in free.get(vi.name, {}).items():
            if axis >= len(dims):
                continue
            d = dims[axis]
            if d.HasField("dim_value") and d.dim_value > 0:
                values.setdefault(name, d.dim_value)
            d.Clear()
            d.dim_param = name
    if not values:
        return model, ""
    for o in out.graph.output:  # inferred again from the freed inputs
        for d in o.type.tensor_type.shape.dim:
            d.Clear()
    inits = {i.name: i for i in out.graph.initializer}
    for _ in range(sum(1 for n in out.graph.node if n.op_type == "Reshape") + 1):
        try:
            inferred = _infer(out)
        except Exception as exc:  # onnx reports a contradiction as any of its exception types
            return model, f"shape inference contradicts the free dimensions: {str(exc).strip().splitlines()[0]}"
        shapes = {v.name: v.type.tensor_type.shape for v in (*inferred.graph.value_info, *inferred.graph.input)}
        if not _copy_free_dims(out, inits, shapes, values):
            break
    used = {i for n in out.graph.node for i in n.input} | {o.name for o in out.graph.output}
    unused = [i for i in out.graph.initializer if i.name not in used]
    for i in unused:  # the reshape constants replaced
        out.graph.initializer.remove(i)
    del out.graph.value_info[:]
    out.graph.value_info.extend(inferred.graph.value_info)
    for o, io in zip(out.graph.output, inferred.graph.output):
        if io.type.tensor_type.HasField("shape"):
            o.type.tensor_type.shape.CopyFrom(io.type.tensor_type.shape)
    names = set(values)
    if not any(d.dim_param in names for o in out.graph.output for d in o.type.tensor_type.shape.dim):
        return model, (
            "no output follows the free dimension"
            + ("s " if len(names) > 1 else " ")
            + ", ".join(sorted(names))
            + ": the graph computes with its parse-time size"
        )
    out.metadata_props.add(key=PARSE_SIZES_KEY, value=json.dumps(seen, sort_keys=True))
    return out, ""


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    """The shapes of `model` (its weights' data left out: only small constants are read)."""
    bare = onnx.ModelProto()
    bare.CopyFrom(without_data(model))
    del bare.graph.value_info[:]
    return onnx.shape_inference.infer_shapes(bare, strict_mode=True, data_prop=True)


def _copy_free_dims(
    model: onnx.ModelProto, inits: dict[str, onnx.TensorProto], shapes: dict[str, onnx.TensorShapeProto],
    values: dict[str, int],
) -> bool:  # fmt: skip
    """Turn each Reshape target size that stands for a freed dimension of its data into 0; True when
    one changed."""
    changed = False
    for node in model.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2 or node.input[1] not in inits:
            continue
        if any(a.name == "allowzero" and a.i for a in node.attribute):
            continue
        data = shapes.get(node.input[0])
        init = inits[node.input[1]]
        if data is None or init.raw_data == b"" and not init.int64_data:
            continue
        target = numpy_helper.to_array(init).copy()
        new = target.copy()
        for k, d in enumerate(data.dim[: len(target)]):
            if not (d.HasField("dim_param") and d.dim_param in values):
                continue
            if target[k] == values[d.dim_param] or (target[k] == -1 and _infers(target, data, k, values[d.dim_param])):
                new[k] = 0
        if (new != target).any():
            name = _fresh(model, inits, node.input[1] + "_free")
            copy = numpy_helper.from_array(new.astype(target.dtype), name)
            model.graph.initializer.append(copy)
            inits[name] = copy
            node.input[1] = name
            changed = True
    return changed


def _infers(target: Any, data: onnx.TensorShapeProto, k: int, value: int) -> bool:
    """Whether the -1 at `target[k]` stands for `value`, data's dimension k at parse time: the other
    dimensions are static and hold the rest of the elements (Reshape(x, [-1, 64]) of [1, 64])."""
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in data.dim]
    rest = [dims[i] for i in range(len(dims)) if i != k]
    other = [dims[i] if t == 0 and i < len(dims) else int(t) for i, t in enumerate(target) if i != k]
    if any(d <= 0 for d in rest + other):
        return False
    return math.prod(other) == math.prod(rest)


def _fresh(model: onnx.ModelProto, inits: dict[str, onnx.TensorProto], base: str) -> str:
    taken = set(inits) | {o for n in model.graph.node for o in n.output} | {i.name for i in model.graph.input}
    name, i = base, 1
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name

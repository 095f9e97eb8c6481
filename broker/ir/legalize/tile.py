"""Tile, for targets without it.

Exporters write nearest-neighbour upsampling as a chain of layout ops around a Tile (tf2onnx's
`UpSampling2D`: Unsqueeze -> Tile -> Transpose -> Reshape, twice). When the whole chain from a
value x to a value y is layout ops and y is x upsampled by integer factors along its spatial axes
(possibly also permuted), the chain becomes one Resize (nearest, asymmetric, floor: every pixel
repeated) and a Transpose. What the chain computes is found by running it on x's element indices
with ONNX's reference implementation, so the rewrite holds exactly when it is made.

Otherwise a Tile with constant repeats becomes a Concat of copies along each repeated axis.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import helper

from .graph import GraphEditor
from .registry import Chain, rewrite

LAYOUT = {"Unsqueeze", "Squeeze", "Reshape", "Transpose", "Flatten", "Tile"}
MAX_ELEMENTS = 1 << 22


def _chain(node: onnx.NodeProto, ed: GraphEditor) -> tuple[str, list[onnx.NodeProto], str]:
    """(x, the layout nodes from x to y in order, y) around `node`."""
    nodes = [node]
    x = node.input[0]
    while x in ed.producer and ed.producer[x].op_type in LAYOUT and ed.sole_consumer(x) is not None:
        nodes.insert(0, ed.producer[x])
        x = ed.producer[x].input[0]
    y = node.output[0]
    while (nxt := ed.sole_consumer(y)) is not None and nxt.op_type in LAYOUT and nxt.input[0] == y:
        nodes.append(nxt)
        y = nxt.output[0]
    return x, nodes, y


def _index_map(x_shape: list[int], nodes: list[onnx.NodeProto], x: str, y: str, ed: GraphEditor) -> np.ndarray | None:
    """What the chain does to x's element indices (ONNX's reference implementation)."""
    from onnx.reference import ReferenceEvaluator

    inits = {i for n in nodes for i in n.input[1:] if i}
    if any(ed.const(i) is None for i in inits):
        return None
    graph = helper.make_graph(
        list(nodes),
        "chain",
        [helper.make_tensor_value_info(x, onnx.TensorProto.INT64, x_shape)],
        [helper.make_tensor_value_info(y, onnx.TensorProto.INT64, None)],
        [onnx.numpy_helper.from_array(ed.consts[i], i) for i in sorted(inits)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    idx = np.arange(int(np.prod(x_shape)), dtype=np.int64).reshape(x_shape)
    outputs = ReferenceEvaluator(model).run(None, {x: idx})
    return np.asarray(outputs[0] if isinstance(outputs, list) else outputs[y])


def _as_upsample(idx_out: np.ndarray, x_shape: list[int]) -> tuple[list[int], list[int]] | None:
    """(factors per axis of x, permutation) with idx_out == transpose(repeat(x, factors), perm)."""
    rank = len(x_shape)
    if idx_out.ndim != rank:
        return None
    base = np.arange(int(np.prod(x_shape)), dtype=np.int64).reshape(x_shape)
    for perm in itertools.permutations(range(rank)):
        z = idx_out.transpose(np.argsort(perm))
        if any(zs % xs for zs, xs in zip(z.shape, x_shape)):
            continue
        factors = [zs // xs for zs, xs in zip(z.shape, x_shape)]
        if factors[:2] != [1, 1] or all(f == 1 for f in factors):
            continue
        up = base
        for axis, f in enumerate(factors):
            up = np.repeat(up, f, axis=axis)
        if np.array_equal(z, up):
            return factors, list(perm)
    return None


@rewrite("Tile", produces=("Resize", "Transpose"))
def upsample_chain_as_resize(node: onnx.NodeProto, ed: GraphEditor) -> Chain | None:
    x, nodes, y = _chain(node, ed)
    x_shape = ed.static_shape(x)
    if x_shape is None or len(x_shape) < 3 or int(np.prod(x_shape)) > MAX_ELEMENTS:
        return None
    idx_out = _index_map(x_shape, nodes, x, y, ed)
    found = _as_upsample(idx_out, x_shape) if idx_out is not None else None
    if found is None:
        return None
    factors, perm = found
    scales = ed.add_const(y + "_scales", np.array(factors, np.float32))
    name = node.name or "upsample"
    identity = perm == sorted(perm)
    resized = y if identity else ed.fresh(y + "_upsampled")
    new = [ed.node("Resize", [x, "", scales], [resized], name + "_resize", mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")]  # fmt: skip
    if not identity:
        new.append(ed.node("Transpose", [resized], [y], name + "_layout", perm=perm))
    return Chain(nodes, new)


@rewrite("Tile", produces=("Concat",))
def tile_as_concat(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    value = ed.const(node.input[1])
    if value is None:
        return None
    reps = [int(r) for r in value.reshape(-1)]
    axes = [a for a, r in enumerate(reps) if r > 1]
    if not axes:
        return None
    out, name = node.output[0], node.name or "tile"
    cur, new = node.input[0], []
    for k, a in enumerate(axes):
        dst = out if k == len(axes) - 1 else ed.fresh(f"{out}_axis{a}")
        new.append(ed.node("Concat", [cur] * reps[a], [dst], f"{name}_axis{a}", axis=a))
        cur = dst
    return new

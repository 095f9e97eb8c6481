"""ScatterND with constant indices and constant updates (what exporters write to set a few
elements of a computed tensor) as y = data * keep + placed, two constants of data's shape, for
targets without the op."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


@rewrite("ScatterND", produces=("Mul", "Add"))
def scatter_nd_as_mask(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    shape = ed.static_shape(node.input[0])
    idx, upd = ed.const(node.input[1]), ed.const(node.input[2])
    if shape is None or idx is None or upd is None or attr(node, "reduction", "none") != "none":
        return None
    if int(np.prod(shape)) > (1 << 24):
        return None
    keep = np.ones(shape, upd.dtype)
    placed = np.zeros(shape, upd.dtype)
    k = idx.shape[-1]
    flat_idx = idx.reshape(-1, k)
    flat_upd = upd.reshape((flat_idx.shape[0],) + tuple(shape[k:]))
    for i, u in zip(flat_idx, flat_upd):
        keep[tuple(i)] = 0
        placed[tuple(i)] = u
    out, name = node.output[0], node.name or "scatter_nd"
    kept = ed.fresh(out + "_kept")
    return [
        ed.node("Mul", [node.input[0], ed.add_const(out + "_keep", keep)], [kept], name + "_keep"),
        ed.node("Add", [kept, ed.add_const(out + "_placed", placed)], [out], name + "_place"),
    ]

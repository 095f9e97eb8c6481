"""One graph with what other exporters leave behind, each a form every target must either convert
or refuse by name: Dropout with its mask, Identity, Constant nodes feeding a Reshape through a
Shape -> Gather -> Concat subgraph, a Sum of three inputs, DepthToSpace in both modes (PyTorch's
PixelShuffle is CRD), and a ScatterND that sets two elements (what MXNet's exporter writes for an
in-place assignment). Opset 13, weights listed as graph inputs.

    python tests/corpus/exporter_features.py OUT.onnx
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    w = nh.from_array((rng.standard_normal((16, 3, 3, 3)) * 0.5).astype(np.float32), "W")
    nodes = [
        h.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        h.make_node("Dropout", ["c"], ["d", "mask"], name="dropout"),
        h.make_node("Identity", ["d"], ["d2"], name="identity"),
        h.make_node("DepthToSpace", ["d2"], ["s1"], blocksize=2, mode="CRD", name="pixel_shuffle"),
        h.make_node("DepthToSpace", ["d2"], ["s2"], blocksize=2, mode="DCR", name="depth_to_space"),
        h.make_node("Relu", ["s1"], ["r1"], name="relu"),
        h.make_node("Sum", ["s1", "s2", "r1"], ["sum"], name="sum3"),
        h.make_node("Shape", ["sum"], ["shp"], name="shape"),
        h.make_node("Constant", [], ["zero"], value=nh.from_array(np.array([0], np.int64)), name="const_zero"),
        h.make_node("Gather", ["shp", "zero"], ["n"], axis=0, name="batch"),
        h.make_node("Constant", [], ["minus1"], value=nh.from_array(np.array([-1], np.int64)), name="const_minus1"),
        h.make_node("Concat", ["n", "minus1"], ["newshape"], axis=0, name="flat_shape"),
        h.make_node("Reshape", ["sum", "newshape"], ["flat"], name="flatten"),
        h.make_node("Constant", [], ["idx"], value=nh.from_array(np.array([[0, 3], [0, 5]], np.int64)), name="idx"),
        h.make_node("Constant", [], ["upd"], value=nh.from_array(np.array([7.0, -2.0], np.float32)), name="upd"),
        h.make_node("ScatterND", ["flat", "idx", "upd"], ["y"], name="set_two"),
    ]
    g = h.make_graph(
        nodes,
        "exporter_features",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8]), h.make_tensor_value_info("W", T.FLOAT, [16, 3, 3, 3])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 1024])],
        [w],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="hand-written exporter graph")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    return m


if __name__ == "__main__":
    onnx.save(build(), sys.argv[1])

"""ResizeSpec.axis_weights: ONNX's Resize as one sampling matrix per axis, applied axis by axis,
gives onnxruntime's output for every nearest mode, linear and cubic, by scales and by sizes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from runners.common.emit import EmitContext
from runners.common.ir import split
from runners.common.specs import ResizeSpec

CASES = [
    # (attributes, scales or None, sizes or None)
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, None, [7, 9]),
    ({"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"},
     [2.0, 1.5], None),
    ({"mode": "nearest", "coordinate_transformation_mode": "align_corners", "nearest_mode": "round_prefer_floor"},
     None, [3, 8]),
    ({"mode": "nearest", "coordinate_transformation_mode": "pytorch_half_pixel", "nearest_mode": "ceil"},
     [0.5, 2.0], None),
    ({"mode": "linear", "coordinate_transformation_mode": "half_pixel"}, [2.0, 2.0], None),
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, None, [7, 9]),
    ({"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, [1.5, 0.6], None),
    ({"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, [1.7, 2.3], None),
    ({"mode": "cubic", "coordinate_transformation_mode": "half_pixel"}, [2.0, 1.25], None),
    ({"mode": "cubic", "coordinate_transformation_mode": "align_corners", "cubic_coeff_a": -0.5, "exclude_outside": 1},
     None, [6, 11]),
]  # fmt: skip


def _model(attrs, scales, sizes):
    inputs = ["x", "", "scales" if scales else "", "sizes" if sizes else ""]
    node = helper.make_node("Resize", [i for i in inputs], ["y"], name="resize", **attrs)
    inits = []
    if scales:
        inits.append(numpy_helper.from_array(np.array([1.0, 1.0] + scales, np.float32), "scales"))
    if sizes:
        inits.append(numpy_helper.from_array(np.array([1, 2] + sizes, np.int64), "sizes"))
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("attrs,scales,sizes", CASES)
def test_axis_weights_match_onnxruntime(attrs, scales, sizes):
    model = _model(attrs, scales, sizes)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 5)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    graph, weights = split(model)
    ctx = EmitContext(graph, weights)
    node = ctx.nodes[0]
    spec = ResizeSpec.of(ctx, node, **{k: v for k, v in attrs.items()})
    got = x.astype(np.float64)
    for axis in spec.resized_axes():
        got = np.moveaxis(np.tensordot(spec.axis_weights(axis), np.moveaxis(got, axis, 0), axes=1), 0, axis)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_forms_that_are_not_one_matrix_per_axis():
    model = _model({"mode": "linear", "antialias": 1}, [0.5, 0.5], None)
    graph, weights = split(model)
    ctx = EmitContext(graph, weights)
    spec = ResizeSpec.of(ctx, ctx.nodes[0], antialias=1, mode="linear")
    assert spec.axis_weights(2) is None

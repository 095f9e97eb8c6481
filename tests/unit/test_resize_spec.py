"""ResizeSpec's per-axis interpolation weights against ONNX's reference Resize: applying each
resized axis's matrix in turn must give the reference's output, for every mode emitters build
from these weights."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from runners.common.errors import RunnerError
from runners.common.specs import ResizeSpec

pytestmark = pytest.mark.unit


class Node:
    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        self.op_type = "Resize"

    def input(self, i):
        return self.inputs[i] if i < len(self.inputs) and self.inputs[i] else None


class Ctx:
    def __init__(self, shapes, consts):
        self.shapes, self.consts = shapes, consts

    def shape(self, name):
        return list(self.consts[name].shape) if name in self.consts else self.shapes.get(name)

    need_shape = shape

    def const(self, name):
        return self.consts.get(name) if name else None

    def fail(self, message):
        return RunnerError("unsupported-attribute", message)


CASES = [
    ({"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nm}, resize)
    for ctm in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric")
    for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
    for resize in ({"sizes": [1, 1, 7, 3]}, {"scales": [1.0, 1.0, 1.7, 0.6]})
] + [
    ({"mode": mode, "coordinate_transformation_mode": ctm, **extra}, resize)
    for mode in ("linear", "cubic")
    for ctm in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric")
    for extra in ({}, {"antialias": 1}, {"exclude_outside": 1, "cubic_coeff_a": -0.5})
    for resize in ({"sizes": [1, 1, 8, 3]}, {"scales": [1.0, 1.0, 2.0, 0.5]}, {"sizes": [1, 1, 1, 2]})
]


@pytest.mark.parametrize("attrs,resize", CASES)
def test_axis_weights_give_the_reference_resize(attrs, resize):
    shape = [1, 1, 4, 5]
    x = np.random.default_rng(0).standard_normal(shape)
    scales = np.array(resize.get("scales", []), np.float32)
    sizes = np.array(resize.get("sizes", []), np.int64)
    names = ["x", "", "scales" if scales.size else "", "sizes" if sizes.size else ""]
    node = helper.make_node("Resize", names, ["y"], **attrs)
    inits = [helper.make_tensor(n, TensorProto.FLOAT if n == "scales" else TensorProto.INT64, v.shape, v)
             for n, v in (("scales", scales), ("sizes", sizes)) if v.size]  # fmt: skip
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)], inits)  # fmt: skip
    want = ReferenceEvaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])).run(
        None, {"x": x}
    )[0]
    consts = {"scales": scales, "sizes": sizes}
    spec = ResizeSpec.of(Ctx({"x": shape}, {k: v for k, v in consts.items() if v.size}), Node(names, ["y"]), **attrs)
    got = x
    for axis in spec.resized_axes():
        got = np.moveaxis(np.tensordot(np.moveaxis(got, axis, -1), spec.axis_weights(axis), axes=1), -1, axis)
    assert got.shape == want.shape
    # onnx 1.18 and 1.23 references differ by up to 1e-5 (relative) in antialiased cubic resizing
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    if attrs["mode"] == "nearest":
        for axis in spec.resized_axes():
            assert set(np.unique(spec.axis_weights(axis))) <= {0.0, 1.0}

"""Op-level tests: a one-node IR graph per supported op, emitted by each runner, saved as that
runner's native model, run by its framework, and compared with onnxruntime on the same inputs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper as h

from broker.ir import save_ir
from pytorch_op_cases import CASES

TARGETS = {"pytorch": ".pth", "onnx": ".onnx"}


def build_case(case, seed=0):
    rng = np.random.default_rng(seed)
    graph_inputs, inits, feeds, names = [], [], {}, []
    for i, spec in enumerate(case["inputs"]):
        name = f"in{i}"
        if spec is None:
            names.append("")
            continue
        names.append(name)
        if isinstance(spec, list):
            arr = rng.standard_normal(spec).astype(np.float32)
            if case.get("positive"):
                arr = np.abs(arr) + 0.1
            feeds[name] = arr
        elif "shape" in spec:
            dt = np.dtype(spec.get("dtype", "float32"))
            if dt.kind in "iub":
                arr = rng.integers(0, 2 if dt.kind == "b" else 5, spec["shape"])
            else:
                arr = rng.standard_normal(spec["shape"])
            arr = arr.astype(dt)
            feeds[name] = arr
        elif "init" in spec:
            arr = rng.standard_normal(spec["init"]).astype(np.float32)
            if case.get("positive"):
                arr = np.abs(arr) + 0.1
            inits.append(onnx.numpy_helper.from_array(arr, name))
            continue
        else:
            inits.append(onnx.numpy_helper.from_array(np.array(spec["value"], dtype=spec["dtype"]), name))
            continue
        graph_inputs.append(h.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(arr.dtype),
                                                     list(arr.shape)))
    while names and names[-1] == "":
        names.pop()
    outs = [f"out{k}" for k in range(case.get("outputs", 1))]
    node = h.make_node(case["op"], names, outs, name=case["name"], **case["attrs"])
    graph = h.make_graph([node], case["name"], graph_inputs, [h.make_empty_tensor_value_info(o) for o in outs], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", case["opset"])])
    model = onnx.shape_inference.infer_shapes(model)
    return model, feeds


@pytest.mark.runner
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_one_node(session, tmp_path, target, case):
    model, feeds = build_case(case)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    ir = save_ir(model, tmp_path / "ir" / case["name"])
    emitted = session.tocode(target, ir, tmp_path / "code", name="net")
    written = session.tomodel(target, emitted, tmp_path / f"net{TARGETS[target]}")
    outs, _, _ = session.infer(target, written, feeds)
    assert len(outs) == len(expected)
    for (name, got), want in zip(outs, expected):
        assert got.shape == want.shape, (name, got.shape, want.shape)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5, err_msg=f"{case['name']} output {name}")

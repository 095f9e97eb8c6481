"""What MXNet 1.x arrays cannot hold as ONNX does, through the real MXNet runner: bool values (held
as uint8), zero-dimensional values (held as (1,), reported as ()), inputs whose values the model
does not read (absent from an MXNet symbol), and dtypes MXNet has no arrays of (refused, naming the
node and the dtype). Each graph is compared with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h

from broker.errors import BrokerError
from broker.ir import save_ir

pytestmark = pytest.mark.runner


def _convert_and_run(session, model, feeds, tmp_path):
    ir = save_ir(model, tmp_path / "ir" / "net")
    emitted = session.tocode("mxnet", ir, tmp_path / "code", name="net")
    written = session.tomodel("mxnet", emitted, tmp_path / "net")
    outs, _, _ = session.infer("mxnet", written, feeds)
    return outs


def test_bool_input_zero_dim_output_and_unread_input(session, env_or_skip, tmp_path):
    """Where on a bool condition, a sum over every axis (a zero-dimensional output) and a CastLike
    whose second input only gives a dtype."""
    env_or_skip("mxnet")
    nodes = [
        h.make_node("Where", ["cond", "x", "y"], ["picked"], name="where"),
        h.make_node("ReduceSum", ["picked"], ["total"], name="total", keepdims=0),
        h.make_node("CastLike", ["x", "like"], ["as_double"], name="castlike"),
    ]
    graph = h.make_graph(
        nodes,
        "held",
        [
            h.make_tensor_value_info("cond", T.BOOL, [2, 3]),
            h.make_tensor_value_info("x", T.FLOAT, [2, 3]),
            h.make_tensor_value_info("y", T.FLOAT, [1, 3]),
            h.make_tensor_value_info("like", T.DOUBLE, [1]),
        ],
        [
            h.make_tensor_value_info("picked", T.FLOAT, [2, 3]),
            h.make_tensor_value_info("total", T.FLOAT, []),
            h.make_tensor_value_info("as_double", T.DOUBLE, [2, 3]),
        ],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    onnx.checker.check_model(model, full_check=True)
    rng = np.random.default_rng(0)
    feeds = {
        "cond": rng.random((2, 3)) > 0.5,
        "x": rng.standard_normal((2, 3)).astype(np.float32),
        "y": rng.standard_normal((1, 3)).astype(np.float32),
        "like": np.zeros(1),
    }
    want = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    got = _convert_and_run(session, model, feeds, tmp_path)
    assert [n for n, _ in got] == ["picked", "total", "as_double"]
    for (name, a), b in zip(got, want):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
    assert got[2][1].dtype == np.float64


def test_dtypes_without_mxnet_arrays_are_refused_by_node(session, env_or_skip, tmp_path):
    env_or_skip("mxnet")
    nodes = [h.make_node("Add", ["a", "a"], ["s"], name="add16"), h.make_node("Relu", ["x"], ["r"], name="relu")]
    graph = h.make_graph(
        nodes,
        "int16",
        [h.make_tensor_value_info("a", T.INT16, [4]), h.make_tensor_value_info("x", T.FLOAT, [4])],
        [h.make_tensor_value_info("s", T.INT16, [4]), h.make_tensor_value_info("r", T.FLOAT, [4])],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    with pytest.raises(BrokerError) as info:
        _convert_and_run(session, model, {}, tmp_path)
    err = info.value
    assert err.reference == "unsupported-attribute", err
    assert err.node == "add16" and err.op == "Add" and "int16" in err.message, err

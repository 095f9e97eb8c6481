from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx.reference import ReferenceEvaluator

from broker.errors import BrokerError
from broker.ir import IR_OPSET, load_ir, save_ir
from broker.ir.passes import count_transposes, eliminate_transposes
from broker.ir.validate import convert_opset, validate

pytestmark = pytest.mark.unit


def small_model(opset=IR_OPSET):
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    g = h.make_graph(
        [h.make_node("Conv", ["x", "w"], ["c"], name="conv1", pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["y"])],
        "small",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        [onnx.numpy_helper.from_array(w, "w")],
    )
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)])


def test_save_and_load_keep_weights_beside_the_graph(tmp_path):
    m = small_model()
    files = save_ir(m, tmp_path / "net")
    graph = onnx.load(str(files.graph))
    assert not graph.graph.initializer[0].raw_data and list(graph.graph.initializer[0].dims) == [4, 3, 3, 3]
    with np.load(files.weights, allow_pickle=False) as z:
        assert z["w"].shape == (4, 3, 3, 3)
    summary = json.loads(files.summary.read_text())
    assert summary["parameters"] == 108 and summary["ops"] == {"Conv": 1, "Relu": 1}
    back = load_ir(files.graph)
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    assert np.array_equal(ReferenceEvaluator(back).run(None, {"x": x})[0], ReferenceEvaluator(m).run(None, {"x": x})[0])


def test_missing_weights_is_a_clear_error(tmp_path):
    files = save_ir(small_model(), tmp_path / "net")
    files.weights.unlink()
    with pytest.raises(BrokerError) as e:
        load_ir(files.graph)
    assert e.value.reference == "missing-file" and "net.npz" in str(e.value)


def test_corrupt_graph_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.pb"
    p.write_bytes(b"\x0a\xff\xff\xff garbage")
    with pytest.raises(BrokerError) as e:
        load_ir(p)
    assert e.value.reference == "corrupt-model"


def test_validate_and_opset_conversion():
    m = convert_opset(small_model(13))
    assert [o.version for o in m.opset_import if o.domain == ""] == [IR_OPSET]
    v = validate(m)
    assert any(vi.name == "c" for vi in v.graph.value_info)


def test_transpose_elimination_keeps_numbers():
    g = h.make_graph(
        [
            h.make_node("Transpose", ["x"], ["a"], perm=[0, 2, 3, 1]),
            h.make_node("Transpose", ["a"], ["b"], perm=[0, 3, 1, 2]),
            h.make_node("Relu", ["b"], ["c"]),
            h.make_node("Transpose", ["c"], ["d"], perm=[0, 2, 3, 1]),
            h.make_node("Transpose", ["d"], ["y"], perm=[0, 2, 1, 3]),
        ],
        "t",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 3, 4])],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", IR_OPSET)])
    out = eliminate_transposes(m)
    assert count_transposes(m) == 4 and count_transposes(out) == 1
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    assert np.array_equal(ReferenceEvaluator(m).run(None, {"x": x})[0], ReferenceEvaluator(out).run(None, {"x": x})[0])


@pytest.mark.parametrize("keepdims", [0, 1])
def test_transpose_folds_into_a_reduction_that_drops_its_axes(keepdims):
    """NHWC global pooling, ReduceMean(Transpose(x, [0,2,3,1]), [1,2]), reads x over [2,3]; with
    keepdims=1 the layout of the result depends on the transpose, which therefore stays."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    out_shape = [1, 1, 1, 3] if keepdims else [1, 3]
    graph = helper.make_graph(
        [
            helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1], name="to_nhwc"),
            helper.make_node("ReduceMean", ["t", "axes"], ["y"], keepdims=keepdims, name="gap"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.array([1, 2], np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    folded = eliminate_transposes(model)
    assert count_transposes(folded) == (1 if keepdims else 0)
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 5)).astype(np.float32)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = ReferenceEvaluator(folded).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)

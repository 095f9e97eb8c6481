"""Weights touched once (broker/ir/weights.py): large initializers stay in their .npz as stubs,
the canonical form and the legalized graph are the same as with every weight in memory, only
the weights a pass changes are read, and an unchanged .npz is handed on as it is."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnx_ir
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from broker.errors import BrokerError
from broker.ir import load_ir, save_ir
from broker.ir import weights as w
from broker.ir.canonical import canonicalize
from broker.ir.legalize import Capabilities, legalize

pytestmark = pytest.mark.unit

rng = np.random.default_rng(0)
CONV = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)  # 72 KB: a stub
FC_T = rng.standard_normal((512, 64)).astype(np.float32)  # 128 KB, transposed by a node: folded
BIAS = rng.standard_normal((512,)).astype(np.float32)  # small: read into the graph


def model(fold: bool = True, opset: int = 13) -> onnx.ModelProto:
    nodes = [
        h.make_node("Conv", ["x", "conv_w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        h.make_node("Relu", ["c"], ["r"], name="relu"),
        h.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
        h.make_node("Flatten", ["g"], ["f"], name="flat"),
    ]
    if fold:
        nodes += [
            h.make_node("Transpose", ["fc_t"], ["fc"], perm=[1, 0], name="t"),
            h.make_node("MatMul", ["f", "fc"], ["m"], name="mm"),
            h.make_node("Add", ["m", "bias"], ["y"], name="add"),
        ]
        inits = [nh.from_array(CONV, "conv_w"), nh.from_array(FC_T, "fc_t"), nh.from_array(BIAS, "bias")]
    else:
        nodes += [h.make_node("Gemm", ["f", "fc_t", "bias"], ["y"], transB=1, alpha=0.5, name="fc")]
        inits = [nh.from_array(CONV, "conv_w"), nh.from_array(FC_T, "fc_t"), nh.from_array(BIAS, "bias")]
    g = h.make_graph(nodes, "m", [h.make_tensor_value_info("x", T.FLOAT, [1, 32, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 512])], inits)  # fmt: skip
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)])


def lazy(m: onnx.ModelProto, tmp_path, name: str = "raw") -> onnx.ModelProto:
    files = save_ir(m, tmp_path / name)
    out = load_ir(files.graph, files.weights, lazy=True)
    assert set(w.stubs(out)) == {"conv_w", "fc_t"} and w.stub_source(out.graph.initializer[2]) is None
    return out


def run(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def full(m: onnx.ModelProto, tmp_path, name: str) -> onnx.ModelProto:
    files = save_ir(m, tmp_path / name)
    return load_ir(files.graph, files.weights)


def test_canonical_form_is_the_same_with_stubs(tmp_path):
    m = model()
    expected, _ = canonicalize(m)
    got, _ = canonicalize(lazy(m, tmp_path))
    assert w.graph_only(got).SerializeToString() == w.graph_only(expected).SerializeToString()
    back = full(got, tmp_path, "canonical")
    for a, b in zip(back.graph.initializer, expected.graph.initializer):
        assert a.name == b.name and np.array_equal(nh.to_array(a), nh.to_array(b))


def test_only_the_weight_a_pass_changes_is_read(tmp_path, monkeypatch):
    m = lazy(model(), tmp_path)
    index = w.index_npz(tmp_path / "raw.npz")
    read: list[str] = []
    original = onnx_ir.ExternalTensor._load

    def spy(self):
        read.append(index.by_offset[self.offset].name)
        return original(self)

    monkeypatch.setattr(onnx_ir.ExternalTensor, "_load", spy)
    monkeypatch.setattr(w.NpzIndex, "read", lambda self, name: read.append(name) or w.NpzIndex.read(self, name))
    out, _ = canonicalize(m)
    assert read == ["fc_t"]  # folded into the MatMul's weight; the convolution's is never read
    assert w.stub_source(next(i for i in out.graph.initializer if i.name == "conv_w")) is not None


def test_an_unchanged_npz_is_handed_on(tmp_path):
    m = lazy(model(fold=False, opset=18), tmp_path)
    assert w.write_weights(m, tmp_path / "next.npz") == "handed on"
    assert os.path.samefile(tmp_path / "raw.npz", tmp_path / "next.npz") or (
        (tmp_path / "raw.npz").read_bytes() == (tmp_path / "next.npz").read_bytes()
    )


def test_a_changed_model_gets_a_new_npz_with_the_same_bytes(tmp_path):
    out, _ = canonicalize(lazy(model(), tmp_path))
    assert w.write_weights(out, tmp_path / "canonical.npz") == "written"
    with np.load(tmp_path / "canonical.npz", allow_pickle=False) as data:
        assert np.array_equal(data["conv_w"], CONV) and data["conv_w"].dtype == CONV.dtype
        assert np.array_equal(data["bias"], BIAS)
        assert not any(k == "fc_t" for k in data.files)  # folded away
    x = rng.standard_normal((1, 32, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run(full(out, tmp_path, "c"), x), run(model(), x), rtol=1e-5, atol=1e-5)


def test_legalization_reads_stubs_where_a_rewrite_needs_them(tmp_path):
    m, _ = canonicalize(lazy(model(fold=False), tmp_path))
    ops = frozenset({"Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "Transpose", "MatMul", "Mul", "Add"})
    out, applied = legalize(m, Capabilities(ops, frozenset({"Gemm.general"})))
    assert [r[2] for r in applied.rewrites] == ["gemm_as_fully_connected"]
    assert w.stub_source(next(i for i in out.graph.initializer if i.name == "conv_w")) is not None
    x = rng.standard_normal((1, 32, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run(full(out, tmp_path, "legal"), x), run(model(fold=False), x), rtol=1e-5, atol=1e-5)


def test_damaged_weights_are_named(tmp_path):
    files = save_ir(model(), tmp_path / "raw")
    data = files.weights.read_bytes()
    files.weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokerError) as err:
        load_ir(files.graph, files.weights, lazy=True)
    assert err.value.reference == "corrupt-model" and err.value.file == str(files.weights)
    np.savez(files.weights, conv_w=CONV[:1], fc_t=FC_T, bias=BIAS)
    with pytest.raises(BrokerError) as err:
        load_ir(files.graph, files.weights, lazy=True)
    assert err.value.reference == "weights-mismatch" and "conv_w" in err.value.message

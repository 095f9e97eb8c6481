"""The PyTorch runner over gRPC: describe, parse errors, emit/save/infer of a graph built here."""

from __future__ import annotations

import os
import pickle

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from broker.errors import RunnerFailed
from runners.common import ir, tensors
from runners.common.rpc import pb


@pytest.fixture(scope="module")
def torch_runner(session):
    return session.runner("pytorch")


def small_graph(tmp_path, ops=None):
    """x[1,3,8,8] -> Conv(4,3x3,pad 1) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(2)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    fc = rng.standard_normal((2, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight"], ["logits"], name="fc", transB=1),
    ] + list(ops or [])
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(w, "conv.weight"), numpy_helper.from_array(fc, "fc.weight")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    g, weights = ir.split(model)
    npz = tensors.save_npz(str(tmp_path / "small.npz"), weights)
    return model, g.SerializeToString(), pb.FileRef(path=npz, role="weights")


def test_describe(torch_runner):
    d = torch_runner.describe()
    assert d.framework == "pytorch"
    assert d.versions["torch"].startswith("2.")
    assert set(d.reads) == {"pt2", "pt", "pth"} and set(d.writes) == {"pth", "pt2"}
    assert d.min_opset == d.max_opset == ir.IR_OPSET
    assert {"Conv", "Gemm", "BatchNormalization", "Resize", "Slice"} <= set(d.emit_ops)


def test_emit_save_infer(torch_runner, tmp_path):
    model, graph, weights = small_graph(tmp_path)
    files = torch_runner.call(
        "Emit", pb.EmitRequest(graph=graph, weights=weights, out_dir=str(tmp_path / "code"), name="small")
    ).files
    roles = {f.role: f.path for f in files}
    assert roles["code"].endswith("small.py") and roles["state_dict"].endswith("small.pth")
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    ort = pytest.importorskip("onnxruntime")
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    for out in ("saved/small.pth", "saved/small.pt2"):
        written = [
            f.path for f in torch_runner.call("Save", pb.SaveRequest(emitted=files, output=str(tmp_path / out))).files
        ]
        if out.endswith(".pth"):
            assert sorted(os.path.basename(w) for w in written) == ["small.pth", "small.py"]
        resp = torch_runner.call(
            "Infer", pb.InferRequest(model=written, inputs=[tensors.to_proto("x", x)], intermediates=True)
        )
        np.testing.assert_allclose(tensors.from_proto(resp.outputs[0]), want, atol=1e-5)
        assert resp.outputs[0].name == "logits"
    inter = {t.name for t in resp.intermediates}  # from the .pt2: no intermediates there
    resp = torch_runner.call(
        "Infer", pb.InferRequest(model=list(roles.values()), inputs=[tensors.to_proto("x", x)], intermediates=True)
    )
    inter = {t.name for t in resp.intermediates}
    assert {"x", "conv", "relu", "pool", "flat", "logits"} <= inter


def test_bad_input_names_shapes(torch_runner, tmp_path):
    _, graph, weights = small_graph(tmp_path)
    files = torch_runner.call(
        "Emit", pb.EmitRequest(graph=graph, weights=weights, out_dir=str(tmp_path / "code"), name="small")
    ).files
    with pytest.raises(RunnerFailed) as err:
        torch_runner.call(
            "Infer",
            pb.InferRequest(
                model=[f.path for f in files], inputs=[tensors.to_proto("x", np.zeros((1, 3, 9, 9), np.float32))]
            ),
        )
    assert err.value.reference == "bad-input"
    assert "(1, 3, 8, 8)" in err.value.message and "(1, 3, 9, 9)" in err.value.message


def test_unsupported_ops_reported_at_once(torch_runner, tmp_path):
    extra = [
        helper.make_node(
            "TfIdfVectorizer",
            ["x"],
            ["tfidf"],
            name="tfidf_a",
            mode="TF",
            min_gram_length=1,
            max_gram_length=1,
            max_skip_count=0,
            ngram_counts=[0],
            ngram_indexes=[0],
            pool_int64s=[1],
        ),
        helper.make_node("MelWeightMatrix", ["x"] * 5, ["mel"], name="mel_b"),
    ]
    _, graph, weights = small_graph(tmp_path, extra)
    with pytest.raises(RunnerFailed) as err:
        torch_runner.call(
            "Emit", pb.EmitRequest(graph=graph, weights=weights, out_dir=str(tmp_path / "code"), name="bad")
        )
    assert err.value.reference == "unsupported-op"
    assert sorted(err.value.nodes) == ["mel_b (MelWeightMatrix)", "tfidf_a (TfIdfVectorizer)"]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch %s" % self.marker,))


def test_pickle_needs_trust_and_never_runs(torch_runner, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pth"
    path.write_bytes(pickle.dumps({"model": _Evil(str(marker))}, protocol=2))
    for method, req in (
        ("Parse", pb.ParseRequest(sources=[str(path)], workspace=str(tmp_path))),
        ("Infer", pb.InferRequest(model=[str(path)])),
    ):
        with pytest.raises(RunnerFailed) as err:
            torch_runner.call(method, req)
        assert err.value.reference == "unsafe-model"
        assert err.value.file == str(path) and "--trust-model" in err.value.hint
    assert not marker.exists()


@pytest.mark.parametrize(
    "content,reference",
    [(None, "missing-file"), (b"PK\x03\x04 truncated", "corrupt-model"), (b"\x80\x02garbage", "corrupt-model")],
)
def test_unreadable_sources(torch_runner, tmp_path, content, reference):
    path = tmp_path / "model.pt2"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RunnerFailed) as err:
        torch_runner.call("Parse", pb.ParseRequest(sources=[str(path)], workspace=str(tmp_path)))
    assert err.value.reference == reference and err.value.file == str(path)


# A program whose output is a library's own container (as transformers' ModelOutput classes are):
# the tree spec names `outsidelib.outputs.Pair`, which the runner's environment cannot import.
EXPORT_WITH_CONTAINER = """
import sys, torch
from torch.utils import _pytree as pytree

class Pair(dict):
    pass

pytree.register_pytree_node(Pair, lambda p: (list(p.values()), list(p.keys())),
                            lambda values, keys: Pair(zip(keys, values)),
                            serialized_type_name="outsidelib.outputs.Pair")

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
    def forward(self, x):
        h = self.fc(x)
        return Pair(hidden=h, score=torch.tanh(h).sum(-1))

torch.manual_seed(0)
ep = torch.export.export(Net().eval(), (torch.randn(2, 4),))
torch.export.save(ep, sys.argv[1])
"""


def test_pt2_output_container_from_another_library(env_or_skip, tmp_path):
    from helpers import run_cli, run_in_env

    handle = env_or_skip("pytorch")
    pt2, out = tmp_path / "pair.pt2", tmp_path / "pair.onnx"
    run_in_env(handle, "-c", EXPORT_WITH_CONTAINER, pt2)
    r = run_cli("convert", "-sf", "pytorch", "-in", pt2, "-df", "onnx", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert "parity: PASS" in r.stdout + r.stderr
    assert [o.name for o in onnx.load(str(out)).graph.output] == ["hidden", "score"]  # the container's keys


LINEAR_CLASS = """import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)
"""

SAVE_FLOAT64 = """import sys, numpy as np, torch
w = np.load(sys.argv[1])
torch.save({"fc.weight": torch.from_numpy(w["weight"]), "fc.bias": torch.from_numpy(w["bias"])}, sys.argv[2])
"""


def test_state_dict_of_another_dtype_is_cast_into_the_module(torch_runner, env_or_skip, tmp_path):
    """A state_dict is taken as it is into the module (memory-mapped, no copy) only when its tensors
    match the module's; float64 weights for a float32 module are cast in, as load_state_dict does."""
    from helpers import run_in_env

    rng = np.random.default_rng(3)
    weight, bias = rng.standard_normal((2, 3)), rng.standard_normal(2)
    np.savez(tmp_path / "w.npz", weight=weight, bias=bias)
    (tmp_path / "net.py").write_text(LINEAR_CLASS)
    run_in_env(env_or_skip("pytorch"), "-c", SAVE_FLOAT64, tmp_path / "w.npz", tmp_path / "net.pth")
    x = rng.standard_normal((1, 3)).astype(np.float32)
    resp = torch_runner.call(
        "Infer",
        pb.InferRequest(model=[str(tmp_path / "net.pth"), str(tmp_path / "net.py")], inputs=[tensors.to_proto("x", x)]),
    )
    out = tensors.from_proto(resp.outputs[0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x @ weight.astype(np.float32).T + bias.astype(np.float32), rtol=1e-5, atol=1e-6)

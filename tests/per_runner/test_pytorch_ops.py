"""Every one-node case of pytorch_op_cases: the PyTorch runner emits it as nn.Module code, runs
that code, and must match onnxruntime on the same graph (atol 1e-5)."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from helpers import build_case
from pytorch_op_cases import CASES

from runners.common import ir, tensors
from runners.common.rpc import pb


def reference(model, feeds):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.fixture(scope="module")
def torch_runner(session):
    return session.runner("pytorch")


def emit_case(runner, case, tmp_path):
    model, feeds = build_case(case)
    graph, weights = ir.split(model)
    npz = tensors.save_npz(str(tmp_path / "weights.npz"), weights)
    resp = runner.call(
        "Emit",
        pb.EmitRequest(
            graph=graph.SerializeToString(),
            weights=pb.FileRef(path=npz, role="weights"),
            out_dir=str(tmp_path / "code"),
            name=case["name"],
        ),
    )
    return model, feeds, list(resp.files)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_op_matches_onnxruntime(torch_runner, case, tmp_path):
    model, feeds, files = emit_case(torch_runner, case, tmp_path)
    assert sorted(f.role for f in files) == ["code", "state_dict"]
    resp = torch_runner.call(
        "Infer",
        pb.InferRequest(
            model=[f.path for f in files],
            inputs=[tensors.to_proto(k, v) for k, v in feeds.items()],
            intermediates=True,
            workspace=str(tmp_path),
        ),
    )
    assert resp.engine.startswith("torch ")
    got = [tensors.from_proto(t) for t in resp.outputs]
    want = reference(model, feeds)
    assert [t.name for t in resp.outputs] == [o.name for o in model.graph.output]
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        if b.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, atol=1e-3 if b.dtype == np.float16 else 1e-5, rtol=0)
    # every output is also reported as an intermediate, under its IR name
    assert {o.name for o in model.graph.output} <= {t.name for t in resp.intermediates}


def test_generated_code_imports_only_torch(torch_runner, tmp_path):
    case = next(c for c in CASES if c["name"] == "conv_pads_asym")
    _, _, files = emit_case(torch_runner, case, tmp_path)
    code = next(f.path for f in files if f.role == "code")
    tree = ast.parse(open(code).read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"torch"}
    text = open(code).read()
    assert "IR_VALUES = {" in text and "class ConvPadsAsym(nn.Module)" in text and "F.pad(" in text

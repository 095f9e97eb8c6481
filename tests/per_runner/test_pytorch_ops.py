"""The PyTorch runner's generated code: what it imports and how it reads, and every output also
reported as an intermediate under its IR name (op-by-op numbers are in test_ops.py)."""

from __future__ import annotations

import ast

import pytest
from helpers import build_case
from op_cases import CASES

from runners.common import ir, tensors
from runners.common.rpc import pb


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


def test_outputs_are_reported_as_intermediates(torch_runner, tmp_path):
    case = next(c for c in CASES if c["name"] == "split_equal")
    model, feeds, files = emit_case(torch_runner, case, tmp_path)
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
    assert [t.name for t in resp.outputs] == [o.name for o in model.graph.output]
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

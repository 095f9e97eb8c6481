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


def _generated(torch_runner, name, tmp_path):
    """(syntax tree, text, imported top-level modules) of the code generated for op case `name`."""
    case = next(c for c in CASES if c["name"] == name)
    _, _, files = emit_case(torch_runner, case, tmp_path)
    text = open(next(f.path for f in files if f.role == "code")).read()
    tree = ast.parse(text)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    return tree, text, imported


def test_generated_code_imports_only_torch(torch_runner, tmp_path):
    _, text, imported = _generated(torch_runner, "conv_pads_asym", tmp_path)
    assert imported == {"torch"}
    assert "IR_VALUES = {" in text and "class ConvPadsAsym(nn.Module)" in text and "F.pad(" in text


@pytest.mark.parametrize(
    "name,functions",
    [("resize_crop_and_resize", {"resize", "resize_weights"}), ("gru_reset_first", {"recurrent"}), ("gru", set())],
)
def test_ops_without_a_torch_call_are_functions_of_the_file(torch_runner, tmp_path, name, functions):
    """An op no torch call computes is a plain-torch function written once into the generated file
    (which still imports only torch); one torch has a layer for uses the layer."""
    tree, text, imported = _generated(torch_runner, name, tmp_path)
    assert imported == {"torch"}
    assert {f.name for f in tree.body if isinstance(f, ast.FunctionDef)} == functions
    assert "# fmt:" not in text
    if not functions:
        assert "nn.GRU(4, 5)" in text


@pytest.mark.parametrize(
    "name,call", [("reshape", "in0.reshape(in0.shape[0], -1)"), ("flatten", "torch.flatten(in0, 1)")]
)
def test_reshapes_that_keep_the_batch_follow_it(torch_runner, tmp_path, name, call):
    """A Reshape to a literal shape that keeps the first axis is written to follow that axis, so the
    code runs at another batch than the one converted."""
    _, text, _ = _generated(torch_runner, name, tmp_path)
    assert call in text, text

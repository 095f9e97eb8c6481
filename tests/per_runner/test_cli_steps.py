"""The README's commands, run as a user runs them: convert, the steps one at a time, infer, compare."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from helpers import run_cli

pytestmark = pytest.mark.runner


def test_readme_convert_example(tmp_path, zoo):
    """`mmbroker convert -sf pytorch -in examples/tiny_resnet.pt2 -df onnx -om tiny_resnet.onnx`"""
    from conftest import ROOT

    out = tmp_path / "tiny_resnet.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", ROOT / "examples" / "tiny_resnet.pt2", "-df", "onnx", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert out.exists() and "parity: PASS" in r.stdout and "max abs err" in r.stdout


def test_steps_one_at_a_time(tmp_path, zoo):
    src = zoo["squeezenet"]["dir"] / "squeezenet.pt2"
    r = run_cli("toir", "-f", "pytorch", "-in", src, "-o", tmp_path / "ir" / "net")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "ir" / "net.pb").exists() and (tmp_path / "ir" / "net.npz").exists()
    summary = json.loads((tmp_path / "ir" / "net.json").read_text())
    assert summary["ops"].get("Concat") and summary["metadata"]["mmbroker.source_framework"] == "pytorch"

    r = run_cli("ir", "info", tmp_path / "ir" / "net.pb", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["transposes"] == 0

    r = run_cli("tocode", "-f", "pytorch", "-n", tmp_path / "ir" / "net.pb", "-d", tmp_path / "code", "--name", "net")
    assert r.exit_code == 0, r.stderr
    code = (tmp_path / "code" / "net.py").read_text()
    assert "class Net(nn.Module)" in code and "nn.Conv2d(" in code and "torch.cat(" in code

    r = run_cli("tomodel", "-f", "pytorch", "-in", tmp_path / "code", "-o", tmp_path / "net.pt2")
    assert r.exit_code == 0, r.stderr

    x = np.random.default_rng(0).standard_normal((1, 3, 48, 48)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = run_cli("infer", tmp_path / "net.pt2", "--input", tmp_path / "x.npy", "--out", tmp_path / "y.npz", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["outputs"][0]["shape"] == [1, 10]

    r = run_cli("compare", src, tmp_path / "net.pt2", "--input", tmp_path / "x.npy", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] and report["outputs"][0]["max_abs"] < 1e-4


def test_compare_reports_a_real_difference(tmp_path, zoo):
    """Two different models: compare must fail and say by how much."""
    a = zoo["resnet"]["dir"] / "resnet.onnx"
    b = tmp_path / "other.onnx"
    shutil.copyfile(zoo["vgg"]["dir"] / "vgg.onnx", b)
    r = run_cli("compare", a, b, "--json")
    assert r.exit_code == 1
    assert not json.loads(r.stdout)["passed"]


def test_compare_mismatched_inputs_names_both_sides(tmp_path, zoo):
    a = zoo["resnet"]["dir"] / "resnet.onnx"
    b = zoo["squeezenet"]["dir"] / "squeezenet.onnx"
    r = run_cli("compare", a, b)
    assert r.exit_code == 1 and "input-mismatch" in r.stderr
    assert "resnet.onnx" in r.stderr and "squeezenet.onnx" in r.stderr


def test_convert_json_and_code_dir(tmp_path, zoo):
    src = zoo["densenet"]["dir"] / "densenet.onnx"
    out = tmp_path / "dense.pth"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "pytorch", "-om", out, "--code-dir", tmp_path / "c",
                "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["parity"]["passed"] and out.exists() and (tmp_path / "c" / "dense.py").exists()
    assert set(result["timings"]) >= {"parse", "emit", "save", "infer"}


def test_a_generated_pytorch_model_declares_its_inputs(tmp_path):
    """A state_dict .pth with the class file mmbroker wrote beside it is run and converted without
    --inputShape (it was refused: torch.onnx needs shapes): they come from the code's INPUTS, read as
    a literal, and `infer` takes them as they are, without a parse."""
    import onnx
    from helpers import onnx_model
    from onnx import helper

    weight = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    src = tmp_path / "mm.onnx"
    onnx.save(onnx_model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", ["N", 4])], [("y", ["N", 6])],
                         [("w", weight)]), str(src))  # fmt: skip
    pth = tmp_path / "out" / "mm.pth"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "pytorch", "-om", pth)
    assert r.exit_code == 0 and "parity: PASS" in r.stdout, r.stderr
    assert "INPUTS = [('x', (-1, 4), 'float32')]" in (tmp_path / "out" / "mm.py").read_text()

    r = run_cli("infer", pth, "--json")
    assert r.exit_code == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["outputs"][0]["shape"] == [1, 6] and done["inputs"][0]["shape"] == [1, 4]
    assert "input shapes from" in r.stderr and "(INPUTS): x ?x4 float32" in r.stderr

    back = tmp_path / "back.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", pth, "-df", "onnx", "-om", back)
    assert r.exit_code == 0 and "parity: PASS" in r.stdout, r.stdout + r.stderr


def test_model_code_that_exits_is_an_error_not_a_hang(tmp_path):
    """A class file calling exit() while the runner loads it ended the runner's call without an
    answer, and the broker waited for it."""
    (tmp_path / "h.py").write_text("INPUTS = [('x', (1, 3), 'float32')]\nraise SystemExit('bye')\n")
    (tmp_path / "h.pth").write_bytes(b"not a state_dict")
    r = run_cli("infer", tmp_path / "h.pth")
    assert r.exit_code != 0 and "invalid-model" in r.stderr and "SystemExit: bye" in r.stderr, r.stderr

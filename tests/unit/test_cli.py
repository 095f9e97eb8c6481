"""The command line as a user meets it, without any runner: help, bad options, missing files."""

from __future__ import annotations

import pytest
from helpers import run_cli

pytestmark = pytest.mark.unit


def test_help_lists_every_command():
    r = run_cli("--help")
    assert r.exit_code == 0
    for cmd in ("convert", "toir", "tocode", "tomodel", "infer", "compare", "env", "ir"):
        assert cmd in r.stdout


def test_convert_help_shows_mmdnn_flags():
    r = run_cli("convert", "--help")
    for flag in ("-sf", "-in", "-iw", "-df", "-om", "--inputShape", "--dstNode", "--no-verify", "--trust-model"):
        assert flag in r.stdout


def test_missing_source_file_names_it(tmp_path):
    out = tmp_path / "out.onnx"
    r = run_cli("convert", "-sf", "onnx", "-in", tmp_path / "nope.onnx", "-df", "onnx", "-om", out)
    assert r.exit_code == 1
    assert "nope.onnx" in r.stderr and "not found" in r.stderr and "missing-file" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_unknown_framework_lists_known_ones(tmp_path):
    r = run_cli("convert", "-sf", "theano", "-in", "x", "-df", "onnx", "-om", tmp_path / "o.onnx")
    assert r.exit_code == 1
    assert "theano" in r.stderr and "pytorch" in r.stderr and "onnx" in r.stderr


def test_bad_input_shape_option(tmp_path):
    m = tmp_path / "m.onnx"
    m.write_bytes(b"x")
    r = run_cli("convert", "-sf", "onnx", "-in", m, "-df", "onnx", "-om", tmp_path / "o.onnx", "--inputShape", "1,a+b")
    assert r.exit_code == 1 and "1,a+b" in r.stderr and "bad-option" in r.stderr


def test_ir_info_and_export(tmp_path):
    import numpy as np
    import onnx
    from helpers import onnx_model
    from onnx import helper as h

    from broker.ir import save_ir

    w = np.ones((2, 3), np.float32)
    m = onnx_model([h.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [("x", [1, 2])], ["y"], [("w", w)])
    files = save_ir(m, tmp_path / "net")
    r = run_cli("ir", "info", files.graph)
    assert r.exit_code == 0 and "MatMul" in r.stdout and "6 parameters" in r.stdout
    r = run_cli("ir", "export-onnx", files.graph, "-o", tmp_path / "net.onnx")
    assert r.exit_code == 0
    back = onnx.load(str(tmp_path / "net.onnx"))
    assert np.array_equal(onnx.numpy_helper.to_array(back.graph.initializer[0]), w)
    r = run_cli("ir", "info", tmp_path / "missing.pb")
    assert r.exit_code == 1 and "missing.pb" in r.stderr

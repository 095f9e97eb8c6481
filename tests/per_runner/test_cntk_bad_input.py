"""Bad CNTK input through the real CLI and the real CNTK runner (CPython 3.6 environment): a
truncated .model, a file that is no model, primitive ops without an IR converter (every node
listed), IR ops without a CNTK equivalent, a sequence input without its length. Every error names
the file or node, says what to do, shows no traceback and leaves no output file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_clean_failure, run_cli, run_in_env

pytestmark = pytest.mark.runner
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(env_or_skip, tmp_path_factory):
    handle = env_or_skip("cntk")
    out = tmp_path_factory.mktemp("cntk_bad")
    proc = run_in_env(handle, ROOT / "tests" / "parity" / "cntk_models.py", out, "cnn", "unsupported", "lstm_seq")
    assert json.loads(proc.stdout.strip().splitlines()[-1])["cnn"] == [1, 3, 16, 16]
    good = (out / "cnn.model").read_bytes()
    (out / "truncated.model").write_bytes(good[: len(good) // 2])
    (out / "text.model").write_text("this is not a CNTK model\n")
    return out


@pytest.mark.parametrize("name", ["truncated.model", "text.model"])
def test_corrupt_model(files, tmp_path, name):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "cntk", "-in", files / name, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, name, "corrupt-model", "export it again")


def test_unsupported_primitive_ops_list_every_node(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "cntk", "-in", files / "unsupported.model", "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "unsupported-op", "Cos, Hardmax", "2 nodes", "cosine (Cos)", "hard (Hardmax)")


def test_ir_op_without_cntk_equivalent(files, tmp_path):
    """An IR op CNTK has no operator for is refused before any code is written, naming the node."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"], name="relu1"),
            helper.make_node("Hardmax", ["r"], ["y"], name="hardmax1"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    src = tmp_path / "hardmax.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(src))
    out = tmp_path / "o.model"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "cntk", "-om", out)
    assert_clean_failure(r, out, "hardmax1 (Hardmax)", "cntk")


def test_sequence_input_without_its_length(files, tmp_path):
    """A recurrent model's sequence input needs its length: the error says how to give it."""
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "cntk", "-in", files / "lstm_seq.model", "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "missing-input-shape", "'x'", "--inputShape x:1,LENGTH,4")

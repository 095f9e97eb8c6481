"""Bad TensorFlow/Keras input through the real CLI and the real runner: each error names the file
(and node/op), says what to do, shows no traceback and leaves no output behind."""

from __future__ import annotations

import os
import shutil

import pytest
from helpers import run_cli

pytestmark = pytest.mark.runner


def assert_clean_failure(r, out, *words):
    assert r.exit_code == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not out.exists(), "a failed conversion left an output file"


@pytest.fixture(scope="module")
def files(tf_models):
    return tf_models[0]


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_layer_refused_and_not_run(files, tmp_path, name):
    marker = files / "lambda_ran.marker"
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "keras", "-in", files / name, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, name, "unsafe-model", "Lambda", "--trust-model", "evil")
    assert not marker.exists(), "the Lambda's code ran while loading"


def test_checkpoint_missing_data(files, tmp_path):
    for f in files.glob("slim.ckpt*"):
        shutil.copy(f, tmp_path / f.name)
    os.unlink(tmp_path / "slim.ckpt.data-00000-of-00001")
    out = tmp_path / "o.pth"
    r = run_cli(
        "convert", "-sf", "tensorflow", "-in", tmp_path / "slim.ckpt.meta", "-iw", tmp_path / "slim.ckpt",
        "--dstNode", "MMdnn_Output", "-df", "pytorch", "-om", out,
    )  # fmt: skip
    assert_clean_failure(r, out, "slim.ckpt.meta", "missing-file", "slim.ckpt.data-00000-of-00001")


def test_wrong_output_node_lists_candidates(files, tmp_path):
    out = tmp_path / "o.pth"
    r = run_cli(
        "convert", "-sf", "tensorflow", "-in", files / "slim.ckpt.meta", "-iw", files / "slim.ckpt",
        "--dstNode", "MMdnn_Outptu", "-df", "pytorch", "-om", out,
    )  # fmt: skip
    assert_clean_failure(r, out, "unknown-node", "MMdnn_Outptu", "candidates", "MMdnn_Output")


def test_unsupported_op_lists_every_node(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "tensorflow", "-in", files / "unsupported.pb", "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "unsupported.pb", "MatrixSquareRoot", "sqrtm_a", "sqrtm_b")


def test_corrupt_h5(files, tmp_path):
    bad = tmp_path / "broken.h5"
    data = (files / "keras2_cnn.h5").read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "keras", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "broken.h5", "corrupt-model")

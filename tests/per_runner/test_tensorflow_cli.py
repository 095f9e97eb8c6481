"""The seeds' TensorFlow/Keras commands, as the README shows them, on locally built files."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import run_cli

pytestmark = pytest.mark.runner


def test_checkpoint_convert_command(tf_models, tmp_path):
    files = tf_models[0]
    for f in files.glob("slim.ckpt*"):
        shutil.copy(f, tmp_path / f.name.replace("slim", "inception_v3"))
    shutil.move(tmp_path / "inception_v3.ckpt.meta", tmp_path / "imagenet_inception_v3.ckpt.meta")
    out = tmp_path / "tf_to_pytorch_inception_v3.pth"
    r = run_cli(
        "convert", "-sf", "tensorflow", "-in", tmp_path / "imagenet_inception_v3.ckpt.meta",
        "-iw", tmp_path / "inception_v3.ckpt", "--dstNode", "MMdnn_Output", "-df", "pytorch", "-om", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert out.is_file()


def test_keras_toir_command(tf_models, tmp_path):
    files = tf_models[0]
    shutil.copy(files / "keras2_cnn.h5", tmp_path / "imagenet_inception_v3.h5")
    h5 = tmp_path / "imagenet_inception_v3.h5"
    r = run_cli("toir", "-f", "keras", "-w", h5, "-o", tmp_path / "keras_inception_v3")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "keras_inception_v3.pb").is_file() and (tmp_path / "keras_inception_v3.npz").is_file()


def test_inner_output_node_is_verified_against_the_same_node(tf_models, tmp_path):
    """--dstNode on an inner node: the converted model stops there, and verification reads the same
    node from the checkpoint (not the graph's last node)."""
    files = tf_models[0]
    out = tmp_path / "pool2.onnx"
    r = run_cli(
        "convert", "-sf", "tensorflow", "-in", files / "slim.ckpt.meta", "-iw", files / "slim.ckpt",
        "--dstNode", "pool2", "-df", "onnx", "-om", out, "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    parity = json.loads(r.stdout)["parity"]
    assert parity["passed"], parity
    assert [o["shape"] for o in parity["outputs"]] == [[1, 2, 2, 16]]

    r = run_cli("infer", f"tensorflow:{files / 'slim.ckpt.meta'},{files / 'slim.ckpt'}", "--dstNode", "pool2", "--json")
    assert r.exit_code == 0, r.stderr
    assert [o["shape"] for o in json.loads(r.stdout)["outputs"]] == [[1, 2, 2, 16]]

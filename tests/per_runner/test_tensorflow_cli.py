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


def test_layers_named_as_keras_names_its_ops_still_build(tmp_path):
    """An unnamed Reshape becomes a Reshape layer `reshape` (Keras's own name for it), and a reshape
    of a 1-D input a keras.ops.reshape call, which Keras names `reshape` too in a new process: the
    model must build, in a new runner, and compute what the source computes."""
    import numpy as np
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    nodes = [h.make_node("Reshape", ["x", "s1"], ["r1"]),
             h.make_node("Reshape", ["scale", "s2"], ["r2"]),
             h.make_node("Relu", ["r1"], ["y"]),
             h.make_node("Relu", ["r2"], ["z"])]  # fmt: skip
    inits = [nh.from_array(np.array([1, 2, 8], np.int64), "s1"), nh.from_array(np.array([1, 1, 4], np.int64), "s2")]
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 2, 2]),
                                      h.make_tensor_value_info("scale", T.FLOAT, [4])],
                         [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 8]),
                          h.make_tensor_value_info("z", T.FLOAT, [1, 1, 4])], inits)  # fmt: skip
    src = tmp_path / "m.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), str(src))
    out = tmp_path / "out" / "m.keras"
    r = run_cli("--cold", "convert", "-sf", "onnx", "-in", src, "-df", "tensorflow", "-om", out)
    assert r.exit_code == 0 and "parity: PASS" in r.stdout, r.stderr

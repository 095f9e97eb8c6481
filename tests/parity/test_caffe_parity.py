"""Caffe pairs with real Caffe (brocolli-caffe 9.0.2, built in its own environment), element-wise
float32 atol 1e-4 / rtol 1e-3: the five deploy nets of the Caffe sdist and small SqueezeNet-, VGG-
and ResNet-style nets with seeded weights saved by Caffe, one net per group of Caffe semantics,
the legacy V1 format; and the PyTorch zoo into Caffe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import check_pair, onnx_model, run_in_env

from broker.pipeline import InputShape

HERE = Path(__file__).resolve().parent
MODELS = HERE / "caffe_models"
DEPLOY = [
    "bvlc_alexnet",
    "bvlc_googlenet",
    "bvlc_reference_caffenet",
    "bvlc_reference_rcnn_ilsvrc13",
    "finetune_flickr_style",
]
SMALL = ["tiny_squeezenet", "tiny_vgg", "tiny_resnet"]
OPS = ["ops_pool", "ops_norm", "ops_misc", "ops_brocolli", "legacy_v1"]
TARGET_FILE = {
    "pytorch": "{name}.pth",
    "onnx": "{name}.onnx",
    "caffe": "{name}.prototxt",
    "tensorflow": "{name}.keras",
}
PT_ZOO = ["resnet", "mobilenetv2", "vgg", "squeezenet", "densenet", "inception"]


@pytest.fixture(scope="session")
def caffe_nets(env_or_skip, tmp_path_factory):
    """Every net of caffe_models/ with seeded random weights set and saved by Caffe."""
    handle = env_or_skip("caffe")
    out = tmp_path_factory.mktemp("caffe_nets")
    nets = [str(MODELS / f"{n}.prototxt") for n in DEPLOY + SMALL + OPS]
    run_in_env(handle, HERE / "caffe_weights.py", out, *nets)
    return {e["name"]: e for e in json.loads((out / "caffe_weights.json").read_text())}


def convert(session, src, dst, source, out_dir, name, inputs=None):
    ir = session.toir(src, source, stem=out_dir / "ir" / name, inputs=inputs)
    emitted = session.tocode(dst, ir, out_dir / "code", name=name)
    written = session.tomodel(dst, emitted, out_dir / TARGET_FILE[dst].format(name=name))
    return ir, written


def caffe_files(entry):
    return [entry["prototxt"], entry["caffemodel"]]


NET_PAIRS = [(n, d) for n in SMALL for d in ("pytorch", "onnx", "caffe", "tensorflow")]
NET_PAIRS += [(n, d) for n in OPS for d in ("onnx", "caffe", "pytorch")]
NET_PAIRS += [(n, d) for n in DEPLOY for d in ("pytorch", "onnx", "caffe", "tensorflow")]


@pytest.mark.parity
@pytest.mark.parametrize("name,dst", NET_PAIRS, ids=[f"{n}-to-{d}" for n, d in NET_PAIRS])
def test_caffe_net(session, caffe_nets, parity_recorder, tmp_path, name, dst):
    entry = caffe_nets[name]
    source = caffe_files(entry)
    shape = [1] + entry["shape"][1:]  # the deploy nets declare a batch of 10: one image is enough here
    ir, written = convert(session, "caffe", dst, source, tmp_path, name, [InputShape("", shape)])
    check_pair(session, parity_recorder, "caffe", source, dst, written, ir, name, min_std=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", PT_ZOO)
def test_to_caffe(session, zoo, env_or_skip, parity_recorder, tmp_path, src, name):
    env_or_skip("caffe")
    source = [str(zoo[name]["dir"] / ("%s.%s" % (name, "pt2" if src == "pytorch" else "onnx")))]
    ir, written = convert(session, src, "caffe", source, tmp_path, name)
    check_pair(session, parity_recorder, src, source, "caffe", written, ir, name, min_std=1e-4)


@pytest.mark.parity
def test_intermediates_keyed_by_blob_names(session, caffe_nets):
    entry = caffe_nets["tiny_resnet"]
    inputs = {"data": np.random.default_rng(0).standard_normal(entry["shape"]).astype(np.float32)}
    outputs, inter, engine = session.infer("caffe", caffe_files(entry), inputs, intermediates=True)
    assert [n for n, _ in outputs] == ["prob"]
    assert inter["pool1"].shape == (1, 8, 8, 8)  # ceil mode: 16 -> 8 with kernel 3, stride 2
    assert "caffe" in engine


@pytest.mark.parity
def test_output_that_layers_also_read(session, env_or_skip, parity_recorder, tmp_path):
    """Caffe lists only unread blobs as outputs: an output other layers read still comes out."""
    from onnx import helper, save

    env_or_skip("caffe")
    nodes = [
        helper.make_node("Relu", ["x"], ["y"], name="relu"),
        helper.make_node("Sigmoid", ["y"], ["z"], name="sigmoid"),
    ]
    src = tmp_path / "two_outputs.onnx"
    save(onnx_model(nodes, [("x", [1, 3, 4, 4])], ["y", "z"]), str(src))
    ir, written = convert(session, "onnx", "caffe", [str(src)], tmp_path, "two_outputs")
    report = check_pair(
        session, parity_recorder, "onnx", [str(src)], "caffe", written, ir, "op:output_also_read", min_std=1e-4
    )
    assert sorted(o.name for o in report.outputs) == ["y", "z"]

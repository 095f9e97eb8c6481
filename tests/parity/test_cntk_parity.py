"""CNTK pairs with real CNTK 2.7 in its own CPython 3.6 environment, element-wise float32 atol 1e-4
/ rtol 1e-3: small CNTK models made by CNTK (tests/parity/cntk_models.py), each carrying one of
CNTK's semantic traps (automatic padding on the lower side, even kernels, BatchNormalization
epsilon in spatial and per-element mode), and the PyTorch zoo into CNTK. Where this machine has no
CPython 3.6 or no libopenmpi3, every test here skips with that reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import check_pair, run_in_env

ROOT = Path(__file__).resolve().parents[2]
CNTK_MODELS = ["cnn", "ops", "pool"]
TARGET_FILE = {"pytorch": "{name}.pth", "onnx": "{name}.onnx", "cntk": "{name}.model"}
PT_ZOO = ["resnet", "mobilenetv2", "squeezenet", "inception"]


@pytest.fixture(scope="session")
def cntk_models(env_or_skip, tmp_path_factory):
    """{name: (model file, input shape)} made by CNTK in the cntk environment."""
    handle = env_or_skip("cntk")
    out = tmp_path_factory.mktemp("cntk_models")
    proc = run_in_env(handle, ROOT / "tests" / "parity" / "cntk_models.py", out)
    shapes = json.loads(proc.stdout.strip().splitlines()[-1])
    return {name: (str(out / f"{name}.model"), shape) for name, shape in shapes.items()}


def convert(session, src, dst, source, out_dir, name):
    ir = session.toir(src, source, stem=out_dir / "ir" / name)
    emitted = session.tocode(dst, ir, out_dir / "code", name=name)
    written = session.tomodel(dst, emitted, out_dir / TARGET_FILE[dst].format(name=name))
    return ir, written


PAIRS = [(n, d) for n in CNTK_MODELS for d in ("pytorch", "onnx", "cntk")]


@pytest.mark.parity
@pytest.mark.parametrize("name,dst", PAIRS, ids=[f"{n}-to-{d}" for n, d in PAIRS])
def test_from_cntk(session, cntk_models, parity_recorder, tmp_path, name, dst):
    path, _ = cntk_models[name]
    ir, written = convert(session, "cntk", dst, [path], tmp_path, name)
    # min_std: the small CNN ends in a softmax over 10 classes
    check_pair(session, parity_recorder, "cntk", [path], dst, written, ir, "cntk:" + name, min_std=1e-3)


RECURRENT = {"lstm_seq": ["LSTM", "LSTM"], "gru_seq": ["GRU", "LSTM"]}
RECURRENT_PAIRS = [(n, d) for n in RECURRENT for d in ("onnx", "pytorch", "cntk")]


@pytest.mark.parity
@pytest.mark.parametrize("name,dst", RECURRENT_PAIRS, ids=[f"{n}-to-{d}" for n, d in RECURRENT_PAIRS])
def test_recurrence_from_cntk(session, cntk_models, parity_recorder, tmp_path, name, dst):
    """C.layers.Recurrence over LSTM/GRU cells (one backwards) parses to ONNX LSTM/GRU ops, not
    unrolled, with the sequence length given as --inputShape x:batch,length,features."""
    import onnx

    from broker.pipeline import InputShape

    path, shape = cntk_models[name]
    ir = session.toir("cntk", [path], stem=tmp_path / "ir" / name, inputs=[InputShape("x", shape)])
    ops = [n.op_type for n in onnx.load(ir.graph).graph.node]
    assert [op for op in ops if op in ("LSTM", "GRU", "RNN")] == RECURRENT[name], ops
    emitted = session.tocode(dst, ir, tmp_path / "code", name=name)
    written = session.tomodel(dst, emitted, tmp_path / TARGET_FILE[dst].format(name=name))
    check_pair(session, parity_recorder, "cntk", [path], dst, written, ir, "cntk:" + name, min_std=1e-3)


@pytest.mark.parity
@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", PT_ZOO)
def test_to_cntk(session, zoo, env_or_skip, parity_recorder, tmp_path, src, name):
    env_or_skip("cntk")
    source = [str(zoo[name]["dir"] / ("%s.%s" % (name, "pt2" if src == "pytorch" else "onnx")))]
    ir, written = convert(session, src, "cntk", source, tmp_path, name)
    check_pair(session, parity_recorder, src, source, "cntk", written, ir, name)


@pytest.mark.parity
def test_lower_side_padding_is_kept(session, cntk_models, tmp_path):
    """CNTK pads the lower side where ONNX SAME_UPPER pads the upper one (even input, stride 2):
    the IR carries explicit pads that say so."""
    import onnx

    path, _ = cntk_models["cnn"]
    ir = session.toir("cntk", [path], stem=tmp_path / "cnn")
    model = onnx.load(str(ir.graph))
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    pads = next(list(a.ints) for a in conv.attribute if a.name == "pads")
    assert pads == [1, 1, 0, 0], pads


@pytest.mark.parity
def test_intermediates_keyed_by_ir_names(session, cntk_models):
    path, shape = cntk_models["cnn"]
    inputs = {"data": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    _, inter, _ = session.infer("cntk", [path], inputs, intermediates=True)
    assert inter["conv1"].shape == (1, 8, 8, 8) and inter["pool1"].shape == (1, 8, 4, 4)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["keras2_cnn", "mobilenetv2"])
def test_keras_to_cntk(session, tf_models, env_or_skip, parity_recorder, tmp_path, name):
    """A Keras 2 .h5 CNN (SAME padding, BatchNormalization, depthwise convolution) and Keras
    MobileNetV2 at 32 px (3x3 kernels on 2x2 maps; tf2onnx's reshapes through a rank-1 bias) into
    CNTK."""
    env_or_skip("cntk")
    folder, entries = tf_models
    source = [str(folder / entries[name]["file"])]
    ir, written = convert(session, "tensorflow", "cntk", source, tmp_path, name)
    check_pair(session, parity_recorder, "tensorflow", source, "cntk", written, ir, name)


@pytest.mark.parity
def test_inner_output_node_is_verified_against_the_same_node(cntk_models, tmp_path):
    """--dstNode pool1: the converted model stops there and verification reads pool1 from CNTK."""
    from helpers import run_cli

    path, _ = cntk_models["cnn"]
    out = tmp_path / "pool1.onnx"
    r = run_cli("convert", "-sf", "cntk", "-in", path, "--dstNode", "pool1", "-df", "onnx", "-om", out, "--json")
    assert r.exit_code == 0, r.stderr
    parity = json.loads(r.stdout)["parity"]
    assert parity["passed"], parity
    assert [o["shape"] for o in parity["outputs"]] == [[1, 8, 4, 4]]

"""MXNet pairs with real MXNet 1.9.1 in its own environment, element-wise float32 atol 1e-4 /
rtol 1e-3: Gluon model-zoo architectures (BatchNorm statistics randomised) and one-layer symbols,
one per MXNet semantic the parser must keep, against the real frameworks on both sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import check_pair, run_in_env

from broker.parity import seeded_inputs
from broker.pipeline import InputShape, input_specs

ROOT = Path(__file__).resolve().parents[2]
ZOO_MODELS = [
    "resnet18_v1",
    "mobilenetv2_1.0",
    "squeezenet1.1",
    "densenet121",
    "inceptionv3",
    "vgg11_bn",
    "alexnet",
    "mobilenet0.25",
    "resnet50_v2",
]
OP_MODELS = [
    "pool_full_max",
    "pool_full_avg_pad",
    "pool_avg_include_pad",
    "pool_avg_exclude_pad",
    "pool_global",
    "bn_fix_gamma",
    "bn_global_stats",
    "softmax_output",
    "softmax_output_4d",
    "softmax_output_multi",
    "leaky",
    "prelu",
    "elu",
    "rrelu",
    "clip_relu6",
    "fc_flatten",
    "fc_no_flatten",
    "concat_add",
    "broadcast",
    "deconv_bias",
    "deconv_adj_group",
    "upsampling",
    "pad_slice",
    "reshape_codes",
    "lrn",
]
# Gluon recurrent layers (MXNet's fused RNN operator) -> one ONNX op per layer
RECURRENT_MODELS = {"gluon_lstm": ("LSTM", 2), "gluon_gru": ("GRU", 1), "gluon_rnn_relu": ("RNN", 2)}
TARGET_FILE = {
    "pytorch": "{name}.pth",
    "onnx": "{name}.onnx",
    "mxnet": "{name}-symbol.json",
    "tensorflow": "{name}.keras",
}
PT_ZOO = ["resnet", "mobilenetv2", "vgg", "squeezenet", "densenet", "inception"]


@pytest.fixture(scope="session")
def mxnet_zoo(env_for, tmp_path_factory):
    """Gluon zoo models and one-layer symbols as -symbol.json + -0000.params, made with MXNet."""
    handle = env_for("mxnet")
    out = tmp_path_factory.mktemp("mxnet_zoo")
    run_in_env(handle, ROOT / "tests" / "parity" / "mxnet_zoo.py", out, *ZOO_MODELS, *OP_MODELS, *RECURRENT_MODELS)
    return {e["name"]: {**e, "dir": out} for e in json.loads((out / "mxnet_zoo.json").read_text())}


def mxnet_files(entry):
    d, name = entry["dir"], entry["name"]
    return [str(d / f"{name}-symbol.json"), str(d / f"{name}-0000.params")]


def convert(session, src, dst, source, out_dir, name, inputs=None):
    stem = name.replace(".", "_")
    ir = session.toir(src, source, stem=out_dir / "ir" / stem, inputs=inputs)
    emitted = session.tocode(dst, ir, out_dir / "code", name=stem)
    written = session.tomodel(dst, emitted, out_dir / TARGET_FILE[dst].format(name=stem))
    return ir, written


ZOO_PAIRS = [(n, d) for n in ZOO_MODELS for d in ("pytorch", "onnx", "mxnet")]
ZOO_PAIRS += [(n, "tensorflow") for n in ("resnet18_v1", "mobilenetv2_1.0")]  # MXNet -> Keras


@pytest.mark.parity
@pytest.mark.parametrize("name,dst", ZOO_PAIRS, ids=[f"{n}-to-{d}" for n, d in ZOO_PAIRS])
def test_mxnet_zoo(session, mxnet_zoo, parity_recorder, tmp_path, dst, name):
    entry = mxnet_zoo[name]
    source = mxnet_files(entry)
    # MMdnn's style: the input shape without the batch
    ir, written = convert(session, "mxnet", dst, source, tmp_path, name, [InputShape("", entry["shape"][1:])])
    assert list(seeded_inputs(input_specs(ir), seed=0).values())[0].shape == tuple(entry["shape"])
    check_pair(session, parity_recorder, "mxnet", source, dst, written, ir, name)


@pytest.mark.parity
@pytest.mark.parametrize("dst", ["onnx", "mxnet"])
@pytest.mark.parametrize("name", OP_MODELS)
def test_mxnet_semantics(session, mxnet_zoo, parity_recorder, tmp_path, dst, name):
    """Each MXNet semantic against real MXNet: through the IR to onnxruntime, and back to MXNet."""
    entry = mxnet_zoo[name]
    source = mxnet_files(entry)
    ir, written = convert(session, "mxnet", dst, source, tmp_path, name, [InputShape("data", entry["shape"])])
    check_pair(session, parity_recorder, "mxnet", source, dst, written, ir, "op:" + name)


@pytest.mark.parity
@pytest.mark.parametrize("dst", ["onnx", "pytorch", "mxnet"])
@pytest.mark.parametrize("name", list(RECURRENT_MODELS))
def test_gluon_recurrent(session, mxnet_zoo, parity_recorder, tmp_path, dst, name):
    """Gluon LSTM (2 layers, input size unlike the state size), bidirectional GRU and ReLU RNN parse to
    one ONNX LSTM/GRU/RNN per layer, not unrolled, and convert with parity against real MXNet."""
    import onnx

    entry = mxnet_zoo[name]
    source = mxnet_files(entry)
    ir, written = convert(session, "mxnet", dst, source, tmp_path, name, [InputShape("data", entry["shape"])])
    op, layers = RECURRENT_MODELS[name]
    ops = [n.op_type for n in onnx.load(ir.graph).graph.node]
    assert ops.count(op) == layers and not {"LSTM", "GRU", "RNN"} - {op} & set(ops), ops
    check_pair(session, parity_recorder, "mxnet", source, dst, written, ir, "rnn:" + name)


@pytest.mark.parity
@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", PT_ZOO)
def test_to_mxnet(session, zoo, parity_recorder, tmp_path, src, name):
    source = [str(zoo[name]["dir"] / ("%s.%s" % (name, "pt2" if src == "pytorch" else "onnx")))]
    ir, written = convert(session, src, "mxnet", source, tmp_path, name)
    check_pair(session, parity_recorder, src, source, "mxnet", written, ir, name)


@pytest.mark.parity
def test_saved_model_loads_in_mxnet_apis(session, mxnet_zoo, env_for, tmp_path):
    """The saved files load with mx.sym.load, gluon.SymbolBlock.imports and mx.mod.Module."""
    entry = mxnet_zoo["mobilenet0.25"]
    _, written = convert(
        session, "mxnet", "mxnet", mxnet_files(entry), tmp_path, "m", [InputShape("", entry["shape"][1:])]
    )
    symbol = next(w for w in written if w.endswith("-symbol.json"))
    params = next(w for w in written if w.endswith("-0000.params"))
    prefix = symbol[: -len("-symbol.json")]
    script = f"""
import mxnet as mx, numpy as np
x = mx.nd.array(np.random.default_rng(0).standard_normal({tuple(entry["shape"])}).astype("float32"))
sym = mx.sym.load({symbol!r})
block = mx.gluon.SymbolBlock.imports({symbol!r}, sym.list_inputs()[:1], {params!r})
a = block(x).asnumpy()
_, args, aux = mx.model.load_checkpoint({prefix!r}, 0)
mod = mx.mod.Module(sym, data_names=[sym.list_inputs()[0]], label_names=None)
mod.bind(data_shapes=[(sym.list_inputs()[0], x.shape)], for_training=False)
mod.set_params(args, aux)
mod.forward(mx.io.DataBatch([x]), is_train=False)
b = mod.get_outputs()[0].asnumpy()
assert np.abs(a - b).max() < 1e-5 and a.std() > 0
print("ok")
"""
    assert "ok" in run_in_env(env_for("mxnet"), "-c", script).stdout


@pytest.mark.parity
def test_intermediates_keyed_by_ir_names(session, mxnet_zoo):
    entry = mxnet_zoo["resnet18_v1"]
    source = mxnet_files(entry)
    inputs = {"data": np.random.default_rng(0).standard_normal(entry["shape"]).astype(np.float32)}
    _, inter, _ = session.infer("mxnet", source, inputs, intermediates=True)
    assert "resnetv10_conv0_fwd" in inter and inter["resnetv10_conv0_fwd"].shape[1] == 64

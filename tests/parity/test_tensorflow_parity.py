"""TensorFlow/Keras conversions, element-wise float32 atol 1e-4 / rtol 1e-3, both sides computed
by the real frameworks. Models: keras.applications with randomised weights at small inputs, a
Keras 2 .h5, a TF1 slim-style checkpoint with `MMdnn_Output`, its frozen .pb, and the PyTorch zoo.

Layout: Keras sources keep their NHWC input in the IR (one Transpose to NCHW behind it); PyTorch
and ONNX sources keep NCHW, and the emitted Keras model takes NCHW and permutes to NHWC inside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.ir import load_ir
from broker.parity import seeded_inputs
from broker.pipeline import InputShape, input_specs
from parity.tf_models import APPLICATIONS

APPS = list(APPLICATIONS)  # the tf_models fixture (conftest.py) builds them all
TARGET_FILE = {
    "pytorch": "{name}.pth",
    "onnx": "{name}.onnx",
    "tensorflow": "{name}.keras",
    "mxnet": "{name}-symbol.json",
}
ZOO_NAMES = ["resnet", "mobilenetv2", "vgg", "squeezenet", "densenet", "inception"]

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def app_ir(session, tf_models, tmp_path_factory):
    """One IR per Keras model, shared by its target pairs."""
    out, _ = tf_models
    cache: dict[str, object] = {}
    base = tmp_path_factory.mktemp("tf_ir")

    def get(name):
        if name not in cache:
            cache[name] = session.toir("tensorflow", [str(out / f"{name}.keras")], stem=base / name)
        return cache[name]

    return get


def transposes_only_at_boundaries(ir_files):
    """Every Transpose reads a graph input or writes a graph output, at most one per input/output.
    A Transpose that feeds a Flatten/Reshape is the NHWC element order a Keras Flatten defines,
    not layout noise: it is allowed (and counted apart)."""
    model = load_ir(ir_files.graph, ir_files.weights)
    g = model.graph
    ends = {i.name for i in g.input} | {o.name for o in g.output}
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n.op_type)
    nodes = [n for n in g.node if n.op_type == "Transpose"]
    nodes = [n for n in nodes if not set(readers.get(n.output[0], [])) <= {"Reshape", "Flatten"}]
    inner = [n.name for n in nodes if n.input[0] not in ends and n.output[0] not in ends]
    assert not inner, f"layout transposes left inside the graph: {inner}"
    assert len(nodes) <= len(g.input) + len(g.output)
    return len(nodes)


def check(session, parity_recorder, src, dst, model_name, source, written, ir, seed=0, label=None):
    inputs = seeded_inputs(input_specs(ir), seed=seed)
    report = session.verify((src, source), (dst, written), inputs)
    parity_recorder.add(src, label or dst, model_name, report)
    assert min(o.reference_std for o in report.outputs) > 1e-2, "reference output has no spread: proves nothing"
    assert report.passed, report.to_dict()
    return report


@pytest.mark.parametrize("dst", ["pytorch", "onnx", "tensorflow"])
@pytest.mark.parametrize("name", APPS)
def test_keras_application(session, tf_models, app_ir, parity_recorder, tmp_path, name, dst):
    out, entries = tf_models
    ir = app_ir(name)
    assert transposes_only_at_boundaries(ir) <= 1
    assert input_specs(ir)[0][1] == entries[name]["shape"], "the IR keeps the Keras model's NHWC input"
    emitted = session.tocode(dst, ir, tmp_path / "code", name=name)
    written = session.tomodel(dst, emitted, tmp_path / TARGET_FILE[dst].format(name=name))
    check(session, parity_recorder, "tensorflow", dst, name, [str(out / f"{name}.keras")], written, ir)


@pytest.mark.parametrize("name", ["mobilenetv2", "resnet50", "vgg19"])
def test_keras_to_mxnet(session, tf_models, app_ir, parity_recorder, tmp_path, name):
    """Keras -> MXNet. MobileNetV2 and ResNet50 pad NHWC tensors, which MXNet's Pad (trailing axes
    only) reaches through a transpose pair in the emitted code."""
    out, _ = tf_models
    ir = app_ir(name)
    emitted = session.tocode("mxnet", ir, tmp_path / "code", name=name)
    written = session.tomodel("mxnet", emitted, tmp_path / f"{name}-symbol.json")
    check(session, parity_recorder, "tensorflow", "mxnet", name, [str(out / f"{name}.keras")], written, ir)


def test_keras_to_tflite_and_savedmodel(session, tf_models, parity_recorder, tmp_path):
    """Keras -> .tflite (the Android path) and -> SavedModel dir; a small CNN keeps the TFLite
    converter's time down."""
    out, _ = tf_models
    source = [str(out / "keras2_cnn.h5")]
    ir = session.toir("tensorflow", source, stem=tmp_path / "ir")
    emitted = session.tocode("tensorflow", ir, tmp_path / "code", name="cnn")
    tflite = session.tomodel("tensorflow", emitted, tmp_path / "cnn.tflite")
    check(session, parity_recorder, "tensorflow", "tensorflow", "keras2_cnn", source, tflite, ir, label="tflite")
    saved = session.tomodel("tensorflow", emitted, tmp_path / "cnn_savedmodel")
    assert (Path(saved[0]) / "saved_model.pb").is_file()
    check(session, parity_recorder, "tensorflow", "tensorflow", "keras2_cnn", source, saved, ir, label="savedmodel")


def test_keras2_h5_roundtrip(session, tf_models, parity_recorder, tmp_path):
    """A Keras 2 .h5 (tf_keras) to PyTorch and back to a Keras 3 .h5 (layers only, no Permute)."""
    out, _ = tf_models
    source = [str(out / "keras2_cnn.h5")]
    ir = session.toir("tensorflow", source, stem=tmp_path / "ir")
    transposes_only_at_boundaries(ir)
    for dst, target in (("pytorch", "keras2_cnn.pth"), ("tensorflow", "keras2_cnn.h5")):
        emitted = session.tocode(dst, ir, tmp_path / ("code_" + dst), name="keras2_cnn")
        written = session.tomodel(dst, emitted, tmp_path / target)
        check(session, parity_recorder, "tensorflow", dst, "keras2_cnn", source, written, ir)


def test_tf1_checkpoint_to_pytorch(session, tf_models, parity_recorder, tmp_path):
    """The seeds' example: a slim checkpoint, `-iw` prefix, `--dstNode MMdnn_Output`, input shape
    given MMdnn's way (H,W,C without batch)."""
    out, _ = tf_models
    source = [str(out / "slim.ckpt.meta"), str(out / "slim.ckpt")]
    ir = session.toir(
        "tensorflow", source, stem=tmp_path / "ir", outputs=["MMdnn_Output"], inputs=[InputShape("", [16, 16, 3])]
    )
    assert input_specs(ir)[0][1] == [None, 16, 16, 3], "MMdnn's form keeps the batch free"
    assert [o for _, o in [(0, o.name) for o in load_ir(ir.graph, ir.weights).graph.output]] == ["MMdnn_Output"]
    transposes_only_at_boundaries(ir)
    emitted = session.tocode("pytorch", ir, tmp_path / "code", name="slim")
    written = session.tomodel("pytorch", emitted, tmp_path / "slim.pth")
    check(session, parity_recorder, "tensorflow", "pytorch", "slim_ckpt", source, written, ir)


def test_frozen_pb_to_onnx(session, tf_models, parity_recorder, tmp_path):
    out, _ = tf_models
    source = [str(out / "slim_frozen.pb")]
    ir = session.toir("tensorflow", source, stem=tmp_path / "ir", outputs=["MMdnn_Output"])
    emitted = session.tocode("onnx", ir, tmp_path / "code", name="slim_frozen")
    written = session.tomodel("onnx", emitted, tmp_path / "slim_frozen.onnx")
    check(session, parity_recorder, "tensorflow", "onnx", "slim_frozen_pb", source, written, ir)


@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_zoo_to_keras(session, zoo, parity_recorder, tmp_path, src, name):
    source = [str(zoo[name]["dir"] / f"{name}.{'pt2' if src == 'pytorch' else 'onnx'}")]
    ir = session.toir(src, source, stem=tmp_path / "ir" / name)
    emitted = session.tocode("tensorflow", ir, tmp_path / "code", name=name)
    code = Path([f.path for f in emitted if f.path.endswith(".py")][0]).read_text()
    assert code.count("layers.Permute(") <= 2, "NCHW -> NHWC once at the input (and back at a 4-D output)"
    written = session.tomodel("tensorflow", emitted, tmp_path / f"{name}.keras")
    check(session, parity_recorder, src, "tensorflow", name, source, written, ir)

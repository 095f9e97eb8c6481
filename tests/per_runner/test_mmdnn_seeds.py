"""MMdnn's documented commands, run as written (same programs, flags and file names) on files built
here: the TF checkpoint one-step and step-by-step to PyTorch (docs/tf2pytorch.md), Keras to IR and
the step-by-step to CNTK (docs/keras2cntk.md), MXNet one-step to CNTK and step-by-step (the MXNet
README), CNTK step-by-step (the CNTK README), the PyTorch README's commands, and mmvismeta. Each
result is then compared with its source by `mmbroker compare`."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from helpers import CliResult, run_cli, run_in_env

from broker.cli import mmdnn

pytestmark = pytest.mark.runner
ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = {
    "mmconvert": mmdnn.convert,
    "mmtoir": mmdnn.toir,
    "mmtocode": mmdnn.tocode,
    "mmtomodel": mmdnn.tomodel,
    "mmvismeta": lambda argv: __import__("broker.cli.cmd_vis", fromlist=["x"]).mmvismeta_program(argv),
}


def mm(line: str) -> CliResult:
    """Run one documented command line in the current folder, through the console script's entry."""
    from broker.cli.app import main

    name, *argv = shlex.split(line)
    out, err = io.StringIO(), io.StringIO()
    os.environ["NO_COLOR"] = "1"
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(lambda: PROGRAMS[name](argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    result = CliResult(code, out.getvalue(), err.getvalue())
    assert result.exit_code == 0, f"{line}\n{result.stderr}"
    return result


def same_outputs(reference: str, candidate: str, *extra: str) -> None:
    r = run_cli("compare", reference, candidate, "--json", *extra)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["passed"]


@pytest.fixture
def slim_ckpt(tf_models, tmp_path, monkeypatch):
    """The slim checkpoint under the seeds' names, in the current folder."""
    monkeypatch.chdir(tmp_path)
    for stem in ("inception_v3", "imagenet_resnet_v2_152"):
        for f in tf_models[0].glob("slim.ckpt*"):
            shutil.copy(f, tmp_path / f.name.replace("slim", stem))
    shutil.move("inception_v3.ckpt.meta", "imagenet_inception_v3.ckpt.meta")
    return tmp_path


def test_tensorflow_to_pytorch_as_written(slim_ckpt, env_or_skip):
    env_or_skip("pytorch")
    mm(
        "mmconvert -sf tensorflow -in imagenet_inception_v3.ckpt.meta -iw inception_v3.ckpt --dstNode MMdnn_Output "
        "-df pytorch -om tf_to_pytorch_inception_v3.pth"
    )
    assert Path("tf_to_pytorch_inception_v3.pth").is_file()

    r = mm(
        "mmtoir -f tensorflow -n imagenet_resnet_v2_152.ckpt.meta -w imagenet_resnet_v2_152.ckpt "
        "--dstNode MMdnn_Output -o converted"
    )
    assert "IR weights are saved as [converted.npz]" in r.stdout
    r = mm("mmtocode -f pytorch -n converted.pb -w converted.npy -d converted_pytorch.py -dw converted_pytorch.npy")
    assert "Target weights are saved as [converted_pytorch.npy]" in r.stdout
    assert "class " in Path("converted_pytorch.py").read_text()
    assert Path("converted_pytorch.npy").read_bytes()[:2] == b"PK"  # a state_dict archive, whatever its name
    mm("mmtomodel -f pytorch -in converted_pytorch.py -iw converted_pytorch.npy -o converted_pytorch.pth")
    same_outputs(
        "tensorflow:imagenet_resnet_v2_152.ckpt.meta,imagenet_resnet_v2_152.ckpt",
        "pytorch:converted_pytorch.pth,converted_pytorch.py",
        "--dstNode",
        "MMdnn_Output",
    )

    # the same steps with mmbroker's own commands (the failing line)
    r = run_cli("tocode", "-f", "pytorch", "-n", "converted.pb", "-w", "converted.npy", "-d", "steps.py", "-dw",
                "steps.npy")  # fmt: skip
    assert r.exit_code == 0 and Path("steps.py").is_file() and Path("steps.npy").is_file(), r.stderr
    r = run_cli("tomodel", "-f", "pytorch", "-in", "steps.py", "-iw", "steps.npy", "-o", "steps.pth")
    assert r.exit_code == 0 and Path("steps.pth").is_file(), r.stderr

    # the PyTorch README: mmtocode's flags written after mmtoir, and mmtomodel with -n/-w/--dump
    r = mm(
        "mmtoir -f pytorch -n converted.pb --IRWeightPath converted.npy --dstModelPath pytorch_inception_v3.py "
        "-dw pytorch_inception_v3.npy"
    )
    assert "running mmtocode" in r.stderr and Path("pytorch_inception_v3.npy").is_file()
    mm("mmtomodel -f pytorch -n pytorch_inception_v3.py -w pytorch_inception_v3.npy --dump pytorch_inception_v3.pth")
    same_outputs(
        "tensorflow:imagenet_resnet_v2_152.ckpt.meta,imagenet_resnet_v2_152.ckpt",
        "pytorch:pytorch_inception_v3.pth,pytorch_inception_v3.py",
        "--dstNode",
        "MMdnn_Output",
    )


def test_mmvismeta_writes_a_tensorboard_graph_log(slim_ckpt):
    r = mm("mmvismeta imagenet_resnet_v2_152.ckpt.meta ./log/")
    events = list(Path("log").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 1000, r.stdout
    assert "MMdnn_Output" in events[0].read_bytes().decode("latin-1")  # the graph, with the output node


def test_keras_to_ir_and_cntk_as_written(tf_models, tmp_path, monkeypatch, env_or_skip):
    monkeypatch.chdir(tmp_path)
    shutil.copy(tf_models[0] / "keras2_cnn.h5", "imagenet_inception_v3.h5")
    mm("mmtoir -f keras -w imagenet_inception_v3.h5 -o keras_inception_v3")
    assert Path("keras_inception_v3.pb").is_file() and Path("keras_inception_v3.npz").is_file()
    env_or_skip("cntk")
    mm("mmtoir -f keras -w imagenet_inception_v3.h5 -o converted")
    r = mm("mmtocode -f cntk -d converted_cntk.py -n converted.pb -w converted.npy")
    assert "[converted_cntk.py]" in r.stdout and Path("converted_cntk.npz").is_file()
    # MMdnn: python -m mmdnn.conversion.examples.cntk.imagenet_test -n converted_cntk -w converted.npy --dump ...
    r = mm("mmtomodel -f cntk -n converted_cntk -w converted.npy -o cntk_inception_v3.dnn")
    assert "IR weights" in r.stderr
    same_outputs("tensorflow:imagenet_inception_v3.h5", "cntk:cntk_inception_v3.dnn")
    r = mm("mmconvert -sf keras -iw imagenet_inception_v3.h5 -df cntk -om keras_to_cntk_inception_v3.dnn")
    assert "parity: PASS" in r.stdout


KERAS_JSON = """import sys
import numpy as np
import tf_keras
L = tf_keras.layers
inp = tf_keras.Input((16, 16, 3), name="image")
x = L.Conv2D(8, 3, activation="relu", name="conv")(inp)
x = L.GlobalAveragePooling2D()(x)
model = tf_keras.Model(inp, L.Dense(5, name="fc")(x))
rng = np.random.default_rng(0)
model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
open("imagenet_inceptionv3.json", "w").write(model.to_json())
model.save_weights("imagenet_inceptionv3.h5")
lam = tf_keras.Model(inp, L.Lambda(lambda t: t * 2, name="double")(inp))
open("lambda.json", "w").write(lam.to_json())
"""


def test_keras_json_as_written(env_for, tmp_path, monkeypatch):
    """The Keras README: an architecture .json with its weights .h5, to the IR, to Keras code, dumped."""
    monkeypatch.chdir(tmp_path)
    Path("make.py").write_text(KERAS_JSON)
    run_in_env(env_for("tensorflow"), tmp_path / "make.py")
    mm("mmtoir -f keras -d inception_v3 -n imagenet_inceptionv3.json -w imagenet_inceptionv3.h5")
    mm("mmtocode -f keras --IRModelPath inception_v3.pb --dstModelPath keras_inception_v3.py")
    # MMdnn: python -m mmdnn.conversion.examples.keras.imagenet_test -n keras_inception_v3.py -w inception_v3.npy
    #        --dump keras_inception_v3.h5
    mm("mmtomodel -f keras -n keras_inception_v3.py -w inception_v3.npy -o keras_inception_v3.h5")
    same_outputs("tensorflow:imagenet_inceptionv3.json,imagenet_inceptionv3.h5", "keras_inception_v3.h5")
    # the architecture alone: MMdnn made an IR without weights; the IR here always has them
    r = run_cli("toir", "-f", "keras", "-d", "x", "-n", "imagenet_inceptionv3.json")
    assert r.exit_code == 1 and "architecture only" in r.stderr
    r = run_cli("toir", "-f", "keras", "-d", "x", "-n", "lambda.json", "-w", "imagenet_inceptionv3.h5")
    assert r.exit_code == 1 and "unsafe-model" in r.stderr and "double" in r.stderr


def test_mxnet_as_written(env_for, env_or_skip, tmp_path, monkeypatch):
    run_in_env(env_for("mxnet"), ROOT / "tests" / "parity" / "mxnet_zoo.py", tmp_path, "resnet18_v1")
    monkeypatch.chdir(tmp_path)
    os.rename("resnet18_v1-symbol.json", "resnet-50-symbol.json")
    os.rename("resnet18_v1-0000.params", "resnet-50-0000.params")
    env_or_skip("cntk")
    mm(
        "mmconvert -sf mxnet -in resnet-50-symbol.json -iw resnet-50-0000.params -df cntk -om mxnet_resnet50.dnn "
        "--inputShape 3,224,224"
    )
    assert Path("mxnet_resnet50.dnn").is_file()
    mm("mmtoir -f mxnet -n resnet-50-symbol.json -w resnet-50-0000.params -d resnet50 --inputShape 3,224,224")
    mm(
        "mmtocode -f mxnet --IRModelPath resnet50.pb --dstModelPath mxnet_resnet50.py --IRWeightPath resnet50.npy "
        "-dw mxnet_resnet50-0000.params"
    )
    # MMdnn: python -m mmdnn.conversion.examples.mxnet.imagenet_test -n mxnet_resnet50 -w ... --dump resnet50
    mm("mmtomodel -f mxnet -n mxnet_resnet50 -w mxnet_resnet50-0000.params --dump resnet50_dump")
    assert Path("resnet50_dump-symbol.json").is_file() and Path("resnet50_dump-0000.params").is_file()
    same_outputs(
        "mxnet:resnet-50-symbol.json,resnet-50-0000.params",
        "mxnet:resnet50_dump-symbol.json,resnet50_dump-0000.params",
        "--inputShape",
        "1,3,224,224",
    )


CNTK_224 = """import sys
import numpy as np
import cntk as C
from cntk.layers import Convolution2D, Dense, MaxPooling
x = C.input_variable((3, 224, 224), name="data")
h = Convolution2D((7, 7), 8, strides=4, pad=True, activation=C.relu, name="conv1")(x)
h = MaxPooling((3, 3), strides=4, pad=True, name="pool1")(h)
out = Dense(10, name="fc")(h)
rng = np.random.RandomState(0)
for p in out.parameters:
    p.value = (rng.standard_normal(p.shape) * 0.1).astype(np.float32)
out.save(sys.argv[1])
"""


def test_cntk_one_step_as_written(env_or_skip, tmp_path, monkeypatch):
    handle = env_or_skip("cntk")
    (tmp_path / "make.py").write_text(CNTK_224)
    run_in_env(handle, tmp_path / "make.py", tmp_path / "ResNet50_ImageNet_CNTK.model")
    monkeypatch.chdir(tmp_path)
    r = mm("mmconvert -sf cntk -iw ResNet50_ImageNet_CNTK.model -df cntk -om cntk_resnet50.dnn --inputShape 3,224,224")
    assert "parity: PASS" in r.stdout and Path("cntk_resnet50.dnn").is_file()


def test_cntk_as_written(env_or_skip, tmp_path, monkeypatch):
    handle = env_or_skip("cntk")
    run_in_env(handle, ROOT / "tests" / "parity" / "cntk_models.py", tmp_path, "cnn")
    monkeypatch.chdir(tmp_path)
    os.rename("cnn.model", "ResNet50_ImageNet_CNTK.model")
    mm("mmtoir -f cntk -n ResNet50_ImageNet_CNTK.model -d resnet50_cntk")
    mm("mmtocode -f cntk -n resnet50_cntk.pb -w resnet50_cntk.npy -d cntk_resnet50.py")
    # MMdnn: python -m mmdnn.conversion.examples.cntk.imagenet_test -n cntk_resnet50.py -w resnet50_cntk.npy --dump
    mm("mmtomodel -f cntk -in cntk_resnet50.py -iw resnet50_cntk.npy -o cntk_resnet50.dnn")
    same_outputs("cntk:ResNet50_ImageNet_CNTK.model", "cntk:cntk_resnet50.dnn")


def test_mmtomodel_from_the_ir(tmp_path, monkeypatch):
    """MMdnn's IR-to-model route (its CoreML README: mmtomodel -f coreml -in x.pb -iw x.npy -o x.mlmodel),
    here to ONNX."""
    import numpy as np
    import onnx
    from helpers import onnx_model
    from onnx import helper as h

    monkeypatch.chdir(tmp_path)
    w = np.random.default_rng(0).normal(0, 0.5, (4, 3, 3, 3))
    model = onnx_model([h.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])],
                       [("x", [1, 3, 8, 8])], [("y", [1, 4, 8, 8])], [("w", w)])  # fmt: skip
    onnx.save(model, "net.onnx")
    mm("mmtoir -f onnx -n net.onnx -o inception_v3")
    r = mm("mmtomodel -f onnx -in inception_v3.pb -iw inception_v3.npy -o inception_v3.onnx")
    assert "generated by [inception_v3.pb] and [inception_v3.npz]" in r.stdout
    same_outputs("net.onnx", "inception_v3.onnx")


def test_caffe_as_written(env_or_skip, tmp_path, monkeypatch):
    """The Caffe README: one step to CNTK, and the steps (its "code" is the .prototxt, under the name given)."""
    handle = env_or_skip("caffe")
    shutil.copy(
        ROOT / "tests" / "parity" / "caffe_models" / "tiny_resnet.prototxt", tmp_path / "resnet152-deploy.prototxt"
    )
    run_in_env(handle, ROOT / "tests" / "parity" / "caffe_weights.py", tmp_path, tmp_path / "resnet152-deploy.prototxt")
    monkeypatch.chdir(tmp_path)
    os.rename("resnet152-deploy.caffemodel", "resnet152.caffemodel")
    mm("mmtoir -f caffe -n resnet152-deploy.prototxt -w resnet152.caffemodel -o caffe_resnet_IR")
    mm("mmtocode -f caffe -n caffe_resnet_IR.pb -w caffe_resnet_IR.npy -d caffe_converted.py -dw caffe_converted.npy")
    assert "layer {" in Path("caffe_converted.py").read_text()
    mm("mmtomodel -f caffe -in caffe_converted.py -iw caffe_converted.npy -o caffe_target")
    same_outputs(
        "caffe:resnet152-deploy.prototxt,resnet152.caffemodel", "caffe:caffe_target.prototxt,caffe_target.caffemodel"
    )
    env_or_skip("cntk")
    r = mm(
        "mmconvert -sf caffe -in resnet152-deploy.prototxt -iw resnet152.caffemodel -df cntk -om caffe_resnet152.dnn"
    )
    assert "parity: PASS" in r.stdout


def test_darknet_as_written(env_or_skip, tmp_path, monkeypatch):
    """The DarkNet README: to the IR with --darknetStart 0 (a 32-bit 'seen' counter), then Keras code;
    MMdnn's detection script becomes a Keras model compared with the DarkNet net (run by OpenCV)."""
    env_or_skip("darknet")
    from parity import darknet_models as dm

    dm.yolov3_tiny((128, 128), divisor=8).write(tmp_path, "yolov3", version=(0, 1, 0))
    monkeypatch.chdir(tmp_path)
    mm("mmtoir -f darknet -n yolov3.cfg -w yolov3.weights -o darknet_yolov3 --darknetStart 0")
    mm("mmtocode -f keras -n darknet_yolov3.pb -w darknet_yolov3.npy -d keras_yolov3_converted.py")
    mm("mmtomodel -f keras -n keras_yolov3_converted.py -w darknet_yolov3.npy -o keras_yolov3.keras")
    same_outputs("darknet:yolov3.cfg,yolov3.weights", "keras_yolov3.keras", "--atol", "1e-3")

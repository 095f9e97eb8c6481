"""Bad Caffe input through the real CLI and the real Caffe runner: a truncated .caffemodel, a
.prototxt syntax error, an unknown layer type, weights of another net, and a net Caffe itself
refuses with a CHECK failure (which aborts Caffe's process): every error names the file and
layer, says what to do, shows no traceback and leaves no output; the runner survives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_clean_failure, onnx_model, run_cli, run_in_env
from onnx import helper

from broker.errors import BrokerError

pytestmark = pytest.mark.runner

GOOD = """name: "Good"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "fc" type: "InnerProduct" bottom: "conv1" top: "fc" inner_product_param { num_output: 3 } }
"""
WIDER = GOOD.replace("num_output: 4", "num_output: 5")
SYNTAX = GOOD.replace('type: "ReLU"', 'type: "ReLU" bogus { }', 1)
UNKNOWN = GOOD.replace('"ReLU"', '"Swish"') + ('layer { name: "odd" type: "ShuffleChannel" bottom: "fc" top: "odd" }\n')
PHASED = GOOD + (
    'layer { name: "double" type: "Power" bottom: "fc" top: "fc" power_param { scale: 2 } include { phase: TRAIN } }\n'
)
CHECK = GOOD.replace('layer { name: "fc"', 'layer { name: "lrn" type: "LRN" bottom: "conv1" top: "conv1" '
                     "lrn_param { local_size: 4 } }\nlayer { name: \"fc\"")  # fmt: skip

MAKE = r"""
import sys, caffe, numpy as np
out = sys.argv[1]
for stem in ("good", "wider"):
    net = caffe.Net(out + "/" + stem + ".prototxt", caffe.TEST)
    for blobs in net.params.values():
        for b in blobs:
            b.data[...] = np.random.default_rng(0).standard_normal(b.data.shape)
    net.save(out + "/" + stem + ".caffemodel")
"""


@pytest.fixture(scope="module")
def files(env_or_skip, tmp_path_factory):
    handle = env_or_skip("caffe")
    out = tmp_path_factory.mktemp("caffe_bad")
    texts = {"good": GOOD, "wider": WIDER, "syntax": SYNTAX, "unknown": UNKNOWN, "check": CHECK, "phased": PHASED}
    for stem, text in texts.items():
        (out / f"{stem}.prototxt").write_text(text)
    run_in_env(handle, "-c", MAKE, out)
    data = (out / "good.caffemodel").read_bytes()
    (out / "truncated.caffemodel").write_bytes(data[: len(data) // 2])
    return out


def convert(files: Path, net: str, weights: str, out: Path, *extra: str):
    return run_cli(
        "convert", "-sf", "caffe", "-in", files / net, "-iw", files / weights, "-df", "onnx", "-om", out, *extra
    )


def test_good_files_convert(files, tmp_path):
    out = tmp_path / "good.onnx"
    r = convert(files, "good.prototxt", "good.caffemodel", out)
    assert r.exit_code == 0, r.stderr
    assert out.exists()


def test_truncated_caffemodel(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good.prototxt", "truncated.caffemodel", out)
    assert_clean_failure(r, out, "truncated.caffemodel", "corrupt-model", "truncated")


def test_syntax_error_names_line_and_column(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "syntax.prototxt", "good.caffemodel", out)
    assert_clean_failure(r, out, "syntax.prototxt", "line 5, column", "bogus")


def test_unknown_layer_types_listed(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "unknown.prototxt", "good.caffemodel", out)
    assert_clean_failure(r, out, "unknown.prototxt", "relu1 (Swish)", "odd (ShuffleChannel)")


def test_weights_of_another_net(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good.prototxt", "wider.caffemodel", out)
    assert_clean_failure(r, out, "wider.caffemodel", "weights-mismatch", "conv1", "[5, 3, 3, 3]", "[4, 3, 3, 3]")


def test_caffe_check_failure_is_an_error_and_runner_survives(session, files):
    x = {"data": np.zeros((1, 3, 8, 8), np.float32)}
    with pytest.raises(BrokerError) as info:
        session.infer("caffe", [str(files / "check.prototxt"), str(files / "good.caffemodel")], x)
    text = str(info.value)
    assert "LRN only supports odd values for local_size" in text, text
    outputs, _, _ = session.infer("caffe", [str(files / "good.prototxt"), str(files / "good.caffemodel")], x)
    assert outputs[0][0] == "fc" and outputs[0][1].shape == (1, 3)


def test_caffe_phase_selects_layers(session, files, tmp_path):
    import onnx

    source = [str(files / "phased.prototxt"), str(files / "good.caffemodel")]
    test_ir = session.toir("caffe", source, stem=tmp_path / "test")
    train_ir = session.toir("caffe", source, stem=tmp_path / "train", options={"caffePhase": "TRAIN"})
    ops = [[n.op_type for n in onnx.load(str(ir.graph)).graph.node] for ir in (test_ir, train_ir)]
    assert "Mul" not in ops[0] and "Mul" in ops[1], ops


def test_caffe_phase_reaches_verification(files, tmp_path):
    """A TRAIN-phase conversion is verified against Caffe run in the TRAIN phase (the TRAIN-only
    layer doubles the output, so verifying against the TEST phase would fail), and `infer` and
    `compare` take the phase too."""
    out = tmp_path / "train.onnx"
    r = convert(files, "phased.prototxt", "good.caffemodel", out, "--caffePhase", "TRAIN", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["parity"]["passed"]
    ref = "caffe:%s,%s" % (files / "phased.prototxt", files / "good.caffemodel")
    means = []
    for phase in ("TEST", "TRAIN"):
        r = run_cli("infer", ref, "--caffePhase", phase, "--json")
        assert r.exit_code == 0, r.stderr
        means.append(json.loads(r.stdout)["outputs"][0]["mean"])
    assert abs(means[1] - 2 * means[0]) < 1e-4 * max(1.0, abs(means[0])) and abs(means[0]) > 1e-3, means
    assert run_cli("compare", ref, str(out), "--caffePhase", "TRAIN").exit_code == 0
    assert run_cli("compare", ref, str(out)).exit_code == 1  # the TEST phase lacks the doubling


def test_input_shape_without_batch(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good.prototxt", "good.caffemodel", out, "--inputShape", "3,8,8")  # batch 1 is added
    assert r.exit_code == 0, r.stderr
    assert out.exists()


def test_asymmetric_padding_is_refused(env_or_skip, tmp_path):
    """What Caffe cannot express is refused naming the node, not approximated: its Pad layer pads
    H and W of 4-D blobs, so a 3-D convolution's asymmetric padding has no Caffe form."""
    import onnx

    env_or_skip("caffe")
    w = np.ones((2, 3, 3, 3, 3), np.float32)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="lopsided", kernel_shape=[3, 3, 3],
                            pads=[0, 0, 0, 1, 1, 1])  # fmt: skip
    src = tmp_path / "lopsided.onnx"
    onnx.save(onnx_model([conv], [("x", [1, 3, 6, 8, 8])], ["y"], [("w", w)]), str(src))
    out = tmp_path / "o.prototxt"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "caffe", "-om", out)
    assert_clean_failure(r, out, "lopsided", "Conv", "asymmetric pads")
    assert not (tmp_path / "o.caffemodel").exists()


COPY = r"""
import sys
root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
import caffe, numpy as np
from runners.caffe.forward import copy_trained_layers
net = caffe.Net(out + "/good.prototxt", caffe.TEST)
copy_trained_layers(net, out + "/good.caffemodel")
ref = caffe.Net(out + "/good.prototxt", caffe.TEST, weights=out + "/good.caffemodel")
for name in ref.params:
    for a, b in zip(net.params[name], ref.params[name]):
        assert np.array_equal(a.data, b.data), name
try:
    copy_trained_layers(net, out + "/wider.caffemodel")
except SystemExit as exc:
    assert exc.code == 4
else:
    raise AssertionError("weights of another net were copied")
"""


def test_weights_beyond_caffes_read_limit_are_copied_by_layer(env_or_skip, files):
    """Weights over brocolli-caffe's 512 MiB read limit (VGG-19) are read by caffe_pb2 and copied
    by layer name: the same blobs as Caffe's own loading, a mismatch refused."""
    handle = env_or_skip("caffe")
    run_in_env(handle, "-c", COPY, Path(__file__).resolve().parents[2], files)

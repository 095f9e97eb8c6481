"""Hostile Keras files through the real CLI and the real tensorflow runner: every object of the
config is checked before Keras rebuilds it, so no payload runs; each refusal is `unsafe-model`
naming the file and the object's path and saying that --trust-model runs its code.

The corpus (tests/per_runner/hostile_keras.py) is made in the tensorflow environment and its
live cases proved there: Keras's own loader runs their payload, which touches a marker file.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import assert_clean_failure, run_cli, run_in_env

pytestmark = pytest.mark.runner

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> the path of the refused object and what the refusal says about it
REFUSED = {
    "k2_time_distributed_lambda": ("model/time_distributed/evil", "Lambda"),
    "k2_bidirectional_lambda": ("model/bidirectional/evil", "Lambda"),
    "k2_nested_sequential_lambda": ("model/inner/evil", "Lambda"),
    "k3_time_distributed_lambda_keras": ("model/time_distributed/evil", "Lambda"),
    "k3_time_distributed_lambda_h5": ("model/time_distributed/evil", "Lambda"),
    "k2_activation_outside_keras": ("model/dense/activation", "mmbroker_hostile_activation"),
    "k2_initializer_outside_keras": ("model/dense/kernel_initializer", "mmbroker_hostile_kernel_initializer"),
    "k2_tf_write_file": ("model/tf.nn.relu", "tf.io.write_file"),
}


@pytest.fixture(scope="module")
def corpus(env_for, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile_keras")
    run_in_env(env_for("tensorflow"), os.path.join(HERE, "hostile_keras.py"), out, "--prove")
    entries = {e["name"]: e for e in json.loads((out / "hostile.json").read_text())}
    assert set(REFUSED) <= set(entries)
    return entries


def assert_refused(r, out, entry, *words):
    assert_clean_failure(r, out, os.path.basename(entry["file"]), "unsafe-model", "--trust-model runs its code", *words)
    assert not os.path.exists(entry["marker"]), "the payload ran"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_convert_refuses(corpus, tmp_path, case):
    entry = corpus[case]
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "keras", "-in", entry["file"], "-df", "onnx", "-om", out)
    assert_refused(r, out, entry, *REFUSED[case])


@pytest.mark.parametrize("case", ["k2_time_distributed_lambda", "k3_time_distributed_lambda_keras"])
def test_toir_and_infer_refuse(corpus, tmp_path, case):
    entry = corpus[case]
    stem = tmp_path / "ir" / "net"
    r = run_cli("toir", "-f", "keras", "-in", entry["file"], "-o", stem)
    assert_refused(r, stem.with_suffix(".pb"), entry, REFUSED[case][0])
    out = tmp_path / "y.npz"
    r = run_cli("infer", f"keras:{entry['file']}", "--out", out)
    assert_refused(r, out, entry, REFUSED[case][0])


def test_saved_model_is_read_as_graphs(corpus, tmp_path):
    """A tf_keras SavedModel carries its Lambda in keras_metadata.pb; the runner reads the traced
    graphs with TensorFlow, never Keras, so the Lambda's Python code cannot run."""
    entry = corpus["k2_saved_model_lambda"]
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "tensorflow", "-in", entry["file"], "-df", "onnx", "-om", out)
    assert not os.path.exists(entry["marker"]), "the Lambda ran"
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("case", ["k2_tf_ops_h5", "k3_ops_keras"])
def test_framework_functions_are_not_custom(corpus, case):
    """tf.* functions in a tf_keras model and keras.ops in a Keras 3 model run without trust."""
    r = run_cli("infer", f"keras:{corpus[case]['file']}", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["outputs"]


def test_keras_own_layer_is_not_custom(corpus, tmp_path):
    """InceptionResNetV2's CustomScaleLayer is Keras's code (keras.applications): no --trust-model."""
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "keras", "-in", corpus["k3_custom_scale_h5"]["file"], "-df", "onnx", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert out.exists()


def test_keras3_h5_it_cannot_rebuild_says_why(corpus, tmp_path):
    """MobileNetV3's `x + 3.0`: Keras 3 writes it to .h5 and cannot read it back. The file is fine."""
    entry = corpus["k3_constant_operand_h5"]
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "keras", "-in", entry["file"], "-df", "onnx", "-om", out)
    assert_clean_failure(
        r, out, entry["file"].split("/")[-1], "unsupported-format", "legacy .h5", "save the model as .keras"
    )
    assert "truncated" not in r.stderr and "corrupt" not in r.stderr

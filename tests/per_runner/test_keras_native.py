"""Keras models converted layer by layer (runners/tensorflow/keras_graph.py): every converted layer
computes what Keras computes, in Keras 3 and tf_keras files; a model with a layer it does not
convert goes through tf2onnx; a parse holds the weights about once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_in_env

pytestmark = pytest.mark.runner

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def results(env_or_skip, tmp_path_factory):
    handle = env_or_skip("tensorflow")
    out = tmp_path_factory.mktemp("keras_native")
    proc = run_in_env(handle, HERE / "keras_native_models.py", HERE.parents[1], out)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("flavour", ["keras3", "tf_keras"])
@pytest.mark.parametrize("name", ["convolutions", "merges", "sequential"])
def test_layers_compute_what_keras_computes(results, flavour, name):
    r = results[f"{flavour}/{name}"]
    assert r["native"], r
    for got, want in r["shapes"]:
        assert got == want, r
    assert r["max_abs"] <= 1e-5 * max(1.0, r["scale"]), r


def test_batch_normalization_stays_a_layer_and_outputs_keep_their_names(results):
    r = results["keras3/convolutions"]
    assert "BatchNormalization" in r["ops"], r  # not folded into the convolutions, as tf2onnx does
    assert r["outputs"] == ["probs", "maxpool_same"], r  # a 4-D output named for its layer, in NHWC


@pytest.mark.parametrize("flavour", ["keras3", "tf_keras"])
@pytest.mark.parametrize("name", ["recurrent", "scaled"])
def test_a_model_with_other_layers_goes_through_tf2onnx(results, flavour, name):
    # an LSTM; a tensor times a number (a layer or keras.ops operation called with a constant)
    assert results[f"{flavour}/{name}"] == {"native": False}


def test_a_parse_holds_the_weights_about_once(results):
    r = results["parse"]
    # measured: 1.09x (the largest weight, 25 MB of 25 MB, made while it is written); through
    # tf2onnx the same model's parse peaks at 10x
    assert r["peak_over_start"] < 1.5 * r["weights"], r
    assert r["files"] == ["dense25mb.npz"], r

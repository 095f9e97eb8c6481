"""The Keras parse's memory: tf2onnx converting a model with 25 MB of weights (a Keras 2 .h5, as
the runner loads it) must not copy the weights once per optimizer pass, and the converted model
must compute what tf2onnx's usual conversion and Keras compute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_in_env

pytestmark = pytest.mark.runner

HERE = Path(__file__).resolve().parent


def test_keras_parse_peak_and_numbers(env_or_skip, tmp_path):
    handle = env_or_skip("tensorflow")
    proc = run_in_env(handle, HERE / "tf_parse_memory.py", HERE.parents[1], tmp_path, "usual")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    # measured: 262 MB (10x the weights, most of it TensorFlow's tracing); 1.47 GB (58x) when
    # every pass copied the constants
    assert r["peak_over_start"] < 20 * r["weights"], r
    assert r["max_abs_diff"] == 0.0, r
    assert r["keras_diff"] <= 1e-5 * max(1.0, r["output_scale"]), r

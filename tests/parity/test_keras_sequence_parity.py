"""Keras sequence models (tests/parity/keras_sequence_models.py: an Embedding + LSTM + Bidirectional
GRU network and a transformer encoder block with MultiHeadAttention, LayerNormalization and a GELU
feed-forward, seeded weights) from Keras to ONNX and PyTorch, checked element-wise against Keras.

KERAS_GAPS lists what a target lacks today (strict expected failures: a pair that starts to pass
must leave the list)."""

from __future__ import annotations

import pytest
from helpers import check_pair, run_in_env

from broker.errors import BrokerError

MODELS = ["keras_rnn", "keras_encoder"]
TARGETS = {"onnx": ".onnx", "pytorch": ".pth"}
# (model, target) -> what is missing today
KERAS_GAPS = {
    ("keras_rnn", "pytorch"): "Loop: tf2onnx writes Keras 3's recurrent layers as their while loop, not ONNX LSTM/GRU",
}

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def keras_seq(env_or_skip, tmp_path_factory):
    from pathlib import Path

    out = tmp_path_factory.mktemp("keras_seq")
    run_in_env(env_or_skip("tensorflow"), Path(__file__).with_name("keras_sequence_models.py"), out)
    return out


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", MODELS)
def test_keras_sequence_model(session, env_or_skip, keras_seq, parity_recorder, tmp_path, request, name, target):
    env_or_skip(target)
    gap = KERAS_GAPS.get((name, target))
    if gap:
        request.applymarker(pytest.mark.xfail(reason=gap, strict=True, raises=(BrokerError, AssertionError)))
    source = [str(keras_seq / f"{name}.keras")]
    ir = session.toir("tensorflow", source, stem=tmp_path / "ir" / name)
    emitted = session.tocode(target, ir, tmp_path / "code", name=name)
    written = session.tomodel(target, emitted, tmp_path / f"{name}{TARGETS[target]}")
    check_pair(session, parity_recorder, "tensorflow", source, target, written, ir, f"seq:{name}")

"""Keras sequence models (tests/parity/keras_sequence_models.py: an Embedding + LSTM + Bidirectional
GRU network and a transformer encoder block with MultiHeadAttention, LayerNormalization and a GELU
feed-forward, seeded weights) from Keras to ONNX and PyTorch, checked element-wise against Keras.
The recurrent layers reach the IR as ONNX LSTM and GRU (runners/tensorflow/parse_recurrent.py), which
the test asserts: the PyTorch code gets nn.LSTM/nn.GRU, not a loop.

KERAS_GAPS lists what a target lacks today (strict expected failures: a pair that starts to pass
must leave the list)."""

from __future__ import annotations

import pytest
from helpers import check_pair, run_in_env

from broker.errors import BrokerError
from broker.ir import load_ir

MODELS = ["keras_rnn", "keras_encoder"]
TARGETS = {"onnx": ".onnx", "pytorch": ".pth"}
# (model, target) -> what is missing today
KERAS_GAPS: dict[tuple[str, str], str] = {}

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
    if name == "keras_rnn":
        ops = [n.op_type for n in load_ir(ir.graph, ir.weights).graph.node]
        assert ops.count("LSTM") == 1 and ops.count("GRU") == 2 and "Loop" not in ops, ops
    emitted = session.tocode(target, ir, tmp_path / "code", name=name)
    written = session.tomodel(target, emitted, tmp_path / f"{name}{TARGETS[target]}")
    check_pair(session, parity_recorder, "tensorflow", source, target, written, ir, f"seq:{name}")

"""Forms of ops that the Keras emitter writes in a way of its own (beyond the one-node cases of
op_cases.py that every target runs): resize grids as interpolation matrices, ceil-mode and dilated
pooling, grouped and dilated transposed convolutions, LayerNormalization's extra outputs, a PRelu
slope or Embedding indices computed at run time, recurrent layers (LSTM, GRU, RNN: directions,
batch-first layout, initial states, sequence lengths). Each case goes the way a conversion goes
(canonicalized, legalized, emitted, saved as .keras, run by Keras) and must match onnxruntime."""

from __future__ import annotations

import pytest
from op_cases import _case, _f32, _i64
from test_ops import assert_matches, run_case

X4 = [2, 3, 9, 9]


def _resize(name, scales=None, sizes=None, shape=(1, 2, 6, 7), **attrs):
    inputs = [list(shape), None, _f32(scales) if scales else None] + ([_i64(sizes)] if sizes else [])
    return _case(name, "Resize", inputs, attrs)


CASES = [
    _resize("resize_cubic_scales", scales=[1.0, 1.0, 1.5, 2.0], mode="cubic"),
    _resize("resize_cubic_exclude_outside", scales=[1.0, 1.0, 0.6, 0.8], mode="cubic", cubic_coeff_a=-0.5,
            exclude_outside=1),  # fmt: skip
    _resize("resize_linear_antialias_down", sizes=[1, 2, 4, 3], mode="linear", antialias=1),
    _resize("resize_linear_asymmetric", scales=[1.0, 1.0, 1.7, 0.5], mode="linear",
            coordinate_transformation_mode="asymmetric"),  # fmt: skip
    _resize("resize_nearest_ceil_half_pixel", sizes=[1, 2, 13, 9], nearest_mode="ceil"),
    _resize("resize_nearest_1d", scales=[1.0, 1.0, 3.0], shape=(1, 2, 5), coordinate_transformation_mode="asymmetric",
            nearest_mode="floor"),  # fmt: skip
    _resize("resize_axes", sizes=[12, 5], axes=[2, 3], mode="linear"),
    _case("maxpool_dilation_ceil", "MaxPool", [X4],
          {"kernel_shape": [3, 2], "dilations": [2, 3], "strides": [2, 2], "pads": [1, 0, 1, 1], "ceil_mode": 1}),
    _case("avgpool_ceil_include_pad", "AveragePool", [[1, 3, 8, 8]],
          {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1, "count_include_pad": 1}),
    _case("lp_pool_p1_ceil", "LpPool", [X4], {"kernel_shape": [3, 3], "strides": [2, 2], "p": 1, "ceil_mode": 1}),
    _case("conv_transpose_dilation", "ConvTranspose", [[1, 4, 5, 5], {"init": [4, 2, 3, 3]}, {"init": [2]}],
          {"dilations": [2, 2], "pads": [1, 0, 2, 1]}),
    _case("conv_transpose_3d_groups", "ConvTranspose", [[1, 4, 3, 4, 4], {"init": [4, 1, 2, 2, 2]}],
          {"group": 2, "strides": [2, 1, 2], "output_padding": [1, 0, 0]}),
    _case("conv_transpose_short_kernel", "ConvTranspose", [[1, 2, 4, 4], {"init": [2, 3, 1, 1]}], {"strides": [3, 3]}),
    _case("conv1d_depthwise", "Conv", [[2, 4, 10], {"init": [8, 1, 3]}], {"group": 4, "strides": [2]}),
    _case("layernorm_with_stats", "LayerNormalization", [[2, 5, 8], {"init": [8]}, {"init": [8]}], {"axis": -1},
          outputs=3),
    _case("prelu_computed_slope", "PRelu", [X4, [3, 1, 1]]),
    _case("embedding_ids", "Gather", [{"init": [10, 6]}, {"shape": [2, 5], "dtype": "int64"}], positive=True),
    _case("gather_negative", "Gather", [X4, _i64([-1, 0])], {"axis": -1}),
    _case("expand_rank", "Expand", [[3, 1], _i64([2, 1, 3, 4])]),
    _case("pad_negative", "Pad", [X4, _i64([0, 0, -1, 2, 0, 0, 1, -2])]),
    _case("mod_fmod", "Mod", [X4, {"init": [9]}], {"fmod": 1}, positive=True),
    _case("reduce_l2_noop_empty", "ReduceL2", [X4], {"noop_with_empty_axes": 1}),
    _case("reduce_log_sum_exp_noop_empty", "ReduceLogSumExp", [X4], {"noop_with_empty_axes": 1}),
    _case("argmin_last_index", "ArgMin", [{"shape": [3, 8], "dtype": "int32"}], {"axis": 1, "select_last_index": 1}),
    _case("instancenorm_3d", "InstanceNormalization", [[2, 3, 4, 5, 6], {"init": [3]}, {"init": [3]}]),
    # recurrent layers: X, W, R, B, sequence_lens, initial_h (, initial_c, P)
    _case("lstm_forward", "LSTM", [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]}, {"init": [1, 24]}],
          {"hidden_size": 3}, outputs=3),
    _case("lstm_reverse_initial_states", "LSTM", [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]},
          {"init": [1, 24]}, None, [1, 2, 3], [1, 2, 3]], {"hidden_size": 3, "direction": "reverse"}, outputs=3),
    _case("lstm_bidirectional_initial_h", "LSTM", [[5, 2, 4], {"init": [2, 12, 4]}, {"init": [2, 12, 3]},
          {"init": [2, 24]}, None, [2, 2, 3]], {"hidden_size": 3, "direction": "bidirectional"}, outputs=3),
    _case("lstm_sequence_lens", "LSTM", [[5, 3, 4], {"init": [2, 12, 4]}, {"init": [2, 12, 3]}, None,
          {"value": [5, 2, 4], "dtype": "int32"}], {"hidden_size": 3, "direction": "bidirectional"}, outputs=3),
    _case("gru_bidirectional_reset_after", "GRU", [[5, 2, 4], {"init": [2, 9, 4]}, {"init": [2, 9, 3]},
          {"init": [2, 18]}, None, [2, 2, 3]], {"hidden_size": 3, "direction": "bidirectional",
          "linear_before_reset": 1}, outputs=2),
    _case("gru_reset_before", "GRU", [[5, 2, 4], {"init": [1, 9, 4]}, {"init": [1, 9, 3]}, {"init": [1, 18]}],
          {"hidden_size": 3}, outputs=2),
    _case("gru_reverse_sequence_lens", "GRU", [[5, 3, 4], {"init": [1, 9, 4]}, {"init": [1, 9, 3]},
          {"init": [1, 18]}, {"value": [1, 5, 3], "dtype": "int32"}], {"hidden_size": 3, "direction": "reverse",
          "linear_before_reset": 1}, outputs=2),
    _case("rnn_relu_no_bias", "RNN", [[5, 2, 4], {"init": [1, 3, 4]}, {"init": [1, 3, 3]}],
          {"hidden_size": 3, "activations": ["Relu"]}, outputs=2),
    _case("rnn_bidirectional_last_state", "RNN", [[5, 2, 4], {"init": [2, 3, 4]}, {"init": [2, 3, 3]},
          {"init": [2, 6]}], {"hidden_size": 3, "direction": "bidirectional"}, outputs=2),
]  # fmt: skip


@pytest.mark.runner
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_keras_form(session, env_or_skip, tmp_path, case):
    env_or_skip("tensorflow")
    outs, expected = run_case(session, "tensorflow", case, tmp_path)
    assert_matches(case, outs, expected)


REFUSED = [
    (_case("lstm_clip", "LSTM", [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]}],
           {"hidden_size": 3, "clip": 1.0}), "clip"),
    (_case("lstm_peepholes", "LSTM", [[5, 2, 4], {"init": [1, 12, 4]}, {"init": [1, 12, 3]}, None, None, None, None,
           {"init": [1, 9]}], {"hidden_size": 3}), "peepholes"),
    (_case("gru_computed_weights", "GRU", [[5, 2, 4], [1, 9, 4], {"init": [1, 9, 3]}], {"hidden_size": 3}),
     "must be a constant"),
]  # fmt: skip


@pytest.mark.runner
@pytest.mark.parametrize("case, words", REFUSED, ids=lambda v: v["name"] if isinstance(v, dict) else "")
def test_recurrent_forms_keras_lacks_are_refused(session, env_or_skip, tmp_path, case, words):
    """Keras's recurrent layers have no clip, no peepholes and take weights, not tensors: refused,
    naming the node and what is missing, never converted into something else."""
    from broker.errors import BrokerError

    env_or_skip("tensorflow")
    with pytest.raises(BrokerError) as err:
        run_case(session, "tensorflow", case, tmp_path)
    assert err.value.reference == "unsupported-attribute", err.value
    assert words in err.value.message and case["op"] in str(err.value)


@pytest.mark.runner
def test_recurrent_layers_reach_tflite_unrolled(session, env_or_skip, tmp_path, monkeypatch):
    """Keras 3's recurrent loops do not pass the TFLite converter: the .tflite gets them unrolled
    and matches onnxruntime; a backward layer with a mask (sequence_lens), which Keras unrolls
    wrongly, is refused."""
    import test_ops
    from test_ops import TARGETS

    from broker.errors import BrokerError

    env_or_skip("tensorflow")
    monkeypatch.setitem(TARGETS, "tflite", ("tensorflow", ".tflite"))
    cases = {c["name"]: c for c in CASES}
    case = cases["gru_bidirectional_reset_after"]
    outs, expected = test_ops.run_case(session, "tflite", case, tmp_path / "gru")
    assert_matches(case, outs, expected)
    with pytest.raises(BrokerError) as err:
        test_ops.run_case(session, "tflite", cases["lstm_sequence_lens"], tmp_path / "masked")
    assert err.value.reference == "unsupported-attribute" and "mask" in err.value.message, err.value

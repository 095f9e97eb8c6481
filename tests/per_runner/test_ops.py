"""Op-level tests: a one-node IR graph per supported op, emitted by each runner, saved as that
runner's native model, run by its framework, and compared with onnxruntime on the same inputs."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from helpers import build_case
from pytorch_op_cases import CASES

from broker.ir import save_ir

TARGETS = {"pytorch": ".pth", "onnx": ".onnx"}


@pytest.mark.runner
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_one_node(session, tmp_path, target, case):
    model, feeds = build_case(case)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    ir = save_ir(model, tmp_path / "ir" / case["name"])
    emitted = session.tocode(target, ir, tmp_path / "code", name="net")
    written = session.tomodel(target, emitted, tmp_path / f"net{TARGETS[target]}")
    outs, _, _ = session.infer(target, written, feeds)
    assert len(outs) == len(expected)
    for (name, got), want in zip(outs, expected):
        assert got.shape == want.shape, (name, got.shape, want.shape)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5, err_msg=f"{case['name']} output {name}")


# The cases the CoreML NeuralNetwork emitter converts. Without Apple's runtime, the CoreML side is
# run as a spec interpretation (the saved .mlmodel translated back to the IR, run by onnxruntime),
# so these check emitter and reader together against onnxruntime on the original one-node graph.
COREML_CASES = """conv conv_pads_stride conv_pads_asym conv_groups_dilation conv_depthwise conv_same_upper
conv_same_lower conv_valid conv_transpose_groups batchnorm instancenorm lrn relu leaky_relu prelu_channel
prelu_scalar sigmoid tanh clip_relu6 clip_range clip_min_only hard_sigmoid hard_sigmoid_torch elu softplus
maxpool maxpool_pads maxpool_ceil maxpool_asym maxpool_same avgpool avgpool_pads_exclude avgpool_pads_include
avgpool_ceil avgpool_asym_include global_avgpool global_maxpool gemm_transb gemm_plain gemm_alpha_beta gemm_no_c
add add_broadcast_const add_scalar sub_scalar_left mul concat flatten reshape squeeze squeeze_all identity
dropout pad_constant pad_reflect pad_edge reduce_mean resize_nearest_scales resize_linear""".split()


@pytest.mark.runner
@pytest.mark.parametrize("case", [c for c in CASES if c["name"] in COREML_CASES], ids=lambda c: c["name"])
def test_one_node_coreml(session, tmp_path, case):
    model, feeds = build_case(case)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    ir = save_ir(model, tmp_path / "ir" / case["name"])
    emitted = session.tocode("coreml", ir, tmp_path / "code", name="net")
    written = session.tomodel("coreml", emitted, tmp_path / "net.mlmodel")
    outs, _, engine = session.infer("coreml", written, feeds)
    assert "CoreML spec interpretation, not Apple's runtime" in engine
    for (name, got), want in zip(outs, expected):
        assert got.shape == want.shape, (name, got.shape, want.shape)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5, err_msg=f"{case['name']} output {name}")


def test_coreml_cases_exist():
    assert set(COREML_CASES) <= {c["name"] for c in CASES}

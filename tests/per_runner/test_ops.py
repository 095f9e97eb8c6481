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

"""Op-level tests: a one-node IR graph per case of op_cases.py, for every target. Each graph goes the
way a conversion goes (canonicalized, legalized for the target, emitted, saved as the target's
native model, run by its framework) and is compared with onnxruntime on the same inputs.

A case either passes or is refused cleanly (an error that names the node and says what the target
cannot express). Wrong numbers, a crash or an internal bug fail the test whatever the baseline. A
case listed in op_baseline/<target>.json must pass. Results go to build/op-results/<target>.json;
`python tests/per_runner/ops_report.py [--update]` writes docs/ops.md (and the baselines).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from helpers import build_case
from op_cases import CASES

from broker.errors import BrokerError
from broker.ir import save_ir

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = Path(os.environ.get("MMBROKER_OP_RESULTS", ROOT / "build" / "op-results"))

# target -> (framework, suffix of the native model written)
TARGETS = {
    "onnx": ("onnx", ".onnx"),
    "pytorch": ("pytorch", ".pth"),
    "tensorflow": ("tensorflow", ".keras"),
    "mxnet": ("mxnet", ""),
    "caffe": ("caffe", ".prototxt"),
    "cntk": ("cntk", ".model"),
    "coreml": ("coreml", ".mlmodel"),
    "mlpackage": ("coreml", ".mlpackage"),
}
# references meaning "this target cannot express this form": a clean refusal, not a failure
REFUSALS = {"unsupported-op", "unsupported-attribute", "missing-input-shape"}


def baseline(target: str) -> set[str]:
    path = HERE / "op_baseline" / f"{target}.json"
    return set(json.loads(path.read_text())) if path.exists() else set()


_results: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module", autouse=True)
def write_results():
    yield
    RESULTS.mkdir(parents=True, exist_ok=True)
    for target, res in _results.items():
        path = RESULTS / f"{target}.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        old.update(res)
        path.write_text(json.dumps(dict(sorted(old.items())), indent=1) + "\n")


def run_case(session, target, case, tmp_path):
    fw, suffix = TARGETS[target]
    model, feeds = build_case(case)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    ir = save_ir(model, tmp_path / "ir" / case["name"])
    options = {"format": suffix.lstrip(".")} if suffix else {}
    emitted = session.tocode(fw, ir, tmp_path / "code", name="net", options=options)
    written = session.tomodel(fw, emitted, tmp_path / f"net{suffix}")
    outs, _, _ = session.infer(fw, written, feeds)
    return outs, expected


@pytest.mark.runner
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_one_node(session, env_or_skip, tmp_path, target, case):
    env_or_skip(TARGETS[target][0])
    record = _results.setdefault(target, {})
    try:
        outs, expected = run_case(session, target, case, tmp_path)
    except BrokerError as err:
        if err.reference not in REFUSALS:
            record[case["name"]] = f"failed: {err.reference}"
            raise
        record[case["name"]] = f"refused: {err.reference}: {' '.join(err.message.split())[:200]}"
        assert case["name"] not in baseline(target), f"{target} used to convert {case['name']}, now: {err}"
        pytest.skip(f"{target} refuses {case['name']}: {err.reference}")
    record[case["name"]] = "failed: wrong numbers"
    assert_matches(case, outs, expected)
    record[case["name"]] = "passed"


def assert_matches(case, outs, expected):
    """The target's outputs equal onnxruntime's: integers exactly, floats within 1e-5 (1e-3 in float16)."""
    assert len(outs) == len(expected)
    for (name, got), want in zip(outs, expected):
        assert got.shape == want.shape, (name, got.shape, want.shape)
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(got, want, err_msg=f"{case['name']} output {name}")
        else:
            tol = 1e-3 if want.dtype == np.float16 else 1e-5
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=tol, rtol=tol,
                                       err_msg=f"{case['name']} output {name}")  # fmt: skip


def test_baselines_name_known_cases():
    names = {c["name"] for c in CASES}
    for target in TARGETS:
        assert baseline(target) <= names, target

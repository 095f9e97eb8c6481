"""ONNX conformance per runner: every node test case of the onnx package that the IR can carry,
run as IR -> emit -> save -> infer in each runner and compared with the case's expected outputs
at the case's own tolerances. A runner's pass count must not drop below the committed baseline
(tests/conformance/baseline.json); `python tests/conformance/report.py --update` rewrites the
baseline and docs/conformance.md from the last run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from broker.errors import BrokerError
from broker.ir import save_ir

HERE = Path(__file__).resolve().parent
BASELINE = json.loads((HERE / "baseline.json").read_text())
RESULTS_DIR = Path(os.environ.get("MMBROKER_CONFORMANCE_RESULTS", HERE.parents[1] / "build" / "conformance"))
# refusals that name what the target cannot hold (an op, an attribute, a dtype, a shape such as a
# CoreML NeuralNetwork's rank-3 input or a dynamic/rank-0 input a Keras or CNTK model needs static)
NOT_SUPPORTED = {"unsupported-op", "unsupported-attribute", "unsupported-opset", "missing-input-shape"}


@pytest.fixture(scope="module")
def cases():
    from cases import load_cases

    return load_cases()


def run_case(session, fw, ext, case, work: Path) -> tuple[str, str]:
    """('passed' | 'failed' | 'not supported', detail)."""
    model = case.load()
    try:
        ir = save_ir(model, work / "ir")
        emitted = session.tocode(fw, ir, work / "code", name="net", options={"format": ext.lstrip(".")})
        written = session.tomodel(fw, emitted, work / f"net{ext}")
        names = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
        out_names = [o.name for o in model.graph.output]
        for ins, outs in case.datasets():
            got, _, _ = session.infer(fw, written, dict(zip(names, ins)))
            by_name = dict(got)
            if sorted(by_name) == sorted(out_names) and len(by_name) == len(got):  # as broker/parity.py matches
                got = [(n, by_name[n]) for n in out_names]  # (Caffe lists a net's outputs in name order)
            if len(got) != len(outs):
                return "failed", f"{len(got)} outputs, expected {len(outs)}"
            for (name, a), b in zip(got, outs):
                if a.shape != b.shape:
                    return "failed", f"output {name}: shape {list(a.shape)}, expected {list(b.shape)}"
                if b.dtype.kind == "f" or a.dtype.kind == "f":
                    ok = np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=case.rtol, atol=case.atol,
                                     equal_nan=True)  # fmt: skip
                else:
                    ok = np.array_equal(a, b)
                if not ok:
                    err = np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0.0
                    return "failed", f"output {name}: max abs error {err:.3g}"
    except BrokerError as err:
        if err.reference in NOT_SUPPORTED:
            return "not supported", f"{err.reference}: {err.op or ''}".strip(": ")
        return "failed", f"{err.reference}: {' '.join(err.message.split())[:160]}"
    return "passed", ""


RUNNERS = ["caffe", "cntk", "coreml", "mlpackage", "mxnet", "onnx", "pytorch", "tensorflow"]
FORMATS = {"mlpackage": ("coreml", ".mlpackage")}  # results kept apart for an emitter of another format


@pytest.mark.runner
@pytest.mark.parametrize("target", RUNNERS)
def test_conformance(session, env_or_skip, cases, tmp_path, target):
    import shutil

    fw, ext = FORMATS.get(target, (target, ""))
    env_or_skip(fw)  # CNTK needs CPython 3.6: skipped with the reason where there is none
    case_list, excluded = cases
    if not ext:
        ext = "." + list(session.describe(fw).writes)[0]
    results = {}
    for case in case_list:
        work = tmp_path / case.name
        results[case.name] = run_case(session, fw, ext, case, work)
        shutil.rmtree(work, ignore_errors=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    summary = {
        "runner": target,
        "passed": sorted(n for n, (s, _) in results.items() if s == "passed"),
        "failed": {n: d for n, (s, d) in sorted(results.items()) if s == "failed"},
        "not_supported": {n: d for n, (s, d) in sorted(results.items()) if s == "not supported"},
        "excluded": excluded,
    }
    (RESULTS_DIR / f"{target}.json").write_text(json.dumps(summary, indent=1))
    base = BASELINE.get(target, {"passed": []})
    regressed = sorted(set(base["passed"]) - set(summary["passed"]))
    print(f"\n{target}: {len(summary['passed'])} passed, {len(summary['failed'])} failed, "
          f"{len(summary['not_supported'])} not supported, {len(excluded)} excluded")  # fmt: skip
    # case by case, not a count: a case that stops passing fails the suite even where others start to
    assert not regressed, f"{target}: {len(regressed)} case(s) of the baseline no longer pass: " + ", ".join(
        f"{n} ({results[n][0]}: {results[n][1]})" if n in results else n for n in regressed[:30]
    )

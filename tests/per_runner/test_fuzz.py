"""Fuzzing through the runners: damaged ONNX and IR files through `tocode` and `convert` (to ONNX
and PyTorch, to Caffe when its environment is here) and damaged Caffe .prototxt files through
`convert`: no traceback, no hang, every failure one clean `error[<reference>]` of the table that is
not `internal-bug`. Seeded and bounded (the case counts below); the IR checks alone, with many more
cases, are in tests/unit/test_fuzz_ir.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzz_cases import CAFFE_SEED, caffe_cases, ir_cases
from fuzz_harness import Outcomes, WarmSession
from helpers import run_in_env

from broker.cli import cmd_convert

pytestmark = pytest.mark.runner

ONNX_CASES = 60  # each through tocode and convert to every target
CAFFE_CASES = 27  # each through convert caffe -> onnx
TARGETS = {"onnx": ".onnx", "pytorch": ".pth"}  # and Caffe's where its environment can be built
CAFFE_TARGET = {"caffe": ".prototxt"}


@pytest.fixture(scope="module")
def warm(env_or_skip):
    for fw in TARGETS:
        env_or_skip(fw)
    mp = pytest.MonkeyPatch()
    mp.setattr(cmd_convert, "Session", WarmSession)
    yield
    mp.undo()
    WarmSession.stop_all()


@pytest.fixture(scope="module")
def targets(env_or_skip):
    try:
        env_or_skip("caffe")
    except pytest.skip.Exception as exc:
        print(f"not fuzzed as a target: {exc}")
        return TARGETS
    return {**TARGETS, **CAFFE_TARGET}


def test_damaged_onnx_and_ir_files(warm, targets, tmp_path):
    outcomes = Outcomes()
    for case in ir_cases(tmp_path / "cases", ONNX_CASES, seed=1):
        for dst, ext in targets.items():
            outcomes.run(case.name, "tocode", "-f", dst, "-n", case.graph, "-d", tmp_path / "code" / case.name / dst)
            out = tmp_path / "out" / dst / f"{case.name}{ext}"
            outcomes.run(case.name, "convert", "-sf", "onnx", "-in", case.onnx, "-df", dst, "-om", out)
    outcomes.report()
    # the cases reach past the first check: some convert, some fail in the runners
    assert outcomes.counts["ok"] > 0
    assert len(set(outcomes.counts) - {"ok", "corrupt-model"}) >= 3, outcomes.counts


@pytest.fixture(scope="module")
def caffe_weights(env_or_skip, tmp_path_factory):
    """The Caffe seed net with seeded weights saved by real Caffe."""
    handle = env_or_skip("caffe")
    out = tmp_path_factory.mktemp("caffe_seed")
    (out / "seed.prototxt").write_text(CAFFE_SEED)
    here = Path(__file__).resolve().parents[1] / "parity" / "caffe_weights.py"
    run_in_env(handle, here, out, out / "seed.prototxt")
    entry = json.loads((out / "caffe_weights.json").read_text())[0]
    return Path(entry["caffemodel"])


def test_damaged_caffe_prototxt(warm, caffe_weights, tmp_path):
    outcomes = Outcomes()
    for name, prototxt in caffe_cases(tmp_path / "cases", CAFFE_CASES, seed=1):
        out = tmp_path / "out" / f"{name}.onnx"
        outcomes.run(name, "convert", "-sf", "caffe", "-in", prototxt, "-iw", caffe_weights, "-df", "onnx", "-om", out)
    outcomes.report()
    assert outcomes.counts["ok"] > 0

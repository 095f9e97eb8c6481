"""Fuzzing the broker's own IR reading: damaged IR files (graph .pb + weights .npz) and ONNX files
through `mmbroker ir check` and `mmbroker ir info`: no traceback, no hang, every failure one clean
`error[<reference>]` of the table that is not `internal-bug`. Seeded and bounded; the same kind of
cases go through the runners in tests/per_runner/test_fuzz.py."""

from __future__ import annotations

import pytest
from fuzz_cases import GRAPH_MUTATIONS, ir_cases
from fuzz_harness import Outcomes

pytestmark = pytest.mark.unit

CASES = 80  # x 4 commands: about 7 s of CPU


def test_damaged_ir_and_onnx_files(tmp_path):
    outcomes = Outcomes()
    cases = ir_cases(tmp_path, CASES, seed=0)
    for case in cases:
        for command in ("check", "info"):
            for path in (case.graph, case.onnx):
                outcomes.run(case.name, "ir", command, path, timeout=60)
    outcomes.report()
    # every kind of damage was tried, and each was found by a different check
    assert {c.name.split("-", 1)[1] for c in cases} >= {f.__name__ for f in GRAPH_MUTATIONS} | {"weights"}
    assert {"ok", "corrupt-model", "invalid-model", "weights-mismatch"} <= set(outcomes.counts), outcomes.counts


def test_cases_are_the_same_for_the_same_seed(tmp_path):
    a = ir_cases(tmp_path / "a", 12, seed=3)
    b = ir_cases(tmp_path / "b", 12, seed=3)
    for x, y in zip(a, b):
        assert x.name == y.name
        assert x.graph.read_bytes() == y.graph.read_bytes() and x.onnx.read_bytes() == y.onnx.read_bytes()

"""The README's parity table from `mmbroker batch` matrices (tests/parity/readme_table.py
--batch-matrix): cells become result rows, replace the committed rows of the same pairs, and render
as table rows; a pair the committed results claim that a matrix did not pass is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parity import readme_table

pytestmark = pytest.mark.unit

ENGINES = ["torch 2.9 (eager, CPU)", "onnxruntime 1.32.0"]
MATRIX = {
    "targets": ["onnx", "caffe"],
    "models": ["resnet", "vgg"],
    "cells": [
        {"model": "resnet", "target": "onnx", "source": "pytorch", "status": "pass", "max_abs": 2.5e-06,
         "max_rel": 1e-05, "engines": ENGINES},
        {"model": "vgg", "target": "onnx", "source": "pytorch", "status": "fail", "max_abs": "inf", "max_rel": "nan",
         "engines": ENGINES},
        {"model": "resnet", "target": "caffe", "source": "pytorch", "status": "refused", "op": "Erf",
         "reference": "unsupported-op"},
        {"model": "vgg", "target": "caffe", "source": "pytorch", "status": "error", "reference": "env-python-missing"},
        {"model": "resnet", "target": "cntk", "source": "pytorch", "status": "pending"},
        {"model": "vgg", "target": "coreml", "source": "pytorch", "status": "unchecked"},
    ],
}  # fmt: skip


def test_matrix_cells_become_result_rows() -> None:
    rows = {(r["target"], r["model"]): r for r in readme_table.matrix_rows(MATRIX)}
    assert sorted(rows) == [("caffe", "resnet"), ("caffe", "vgg"), ("onnx", "resnet"), ("onnx", "vgg")]
    ok = rows[("onnx", "resnet")]
    assert ok["passed"] and ok["max_abs"] == 2.5e-06 and ok["source"] == "pytorch"
    assert (ok["reference"], ok["candidate"]) == tuple(ENGINES)
    assert not rows[("onnx", "vgg")]["passed"] and rows[("onnx", "vgg")]["max_abs"] == float("inf")
    assert rows[("caffe", "resnet")]["note"] == "refused Erf" and rows[("caffe", "resnet")]["max_abs"] is None
    assert rows[("caffe", "vgg")]["note"] == "error env-python-missing"
    lines = readme_table.table(readme_table.matrix_rows(MATRIX)).splitlines()
    assert "| pytorch | caffe | 0/2 | 0 | resnet (refused Erf), vgg (error env-python-missing) |" in lines
    assert "| pytorch | onnx | 1/2 | inf | resnet, vgg (FAIL) |" in lines


def _committed() -> list[dict]:
    row = {"max_rel": 0.0, "reference": "r", "candidate": "c"}
    return [
        {**row, "source": "caffe", "target": "onnx", "model": "alexnet", "passed": True, "max_abs": 1e-6},
        {**row, "source": "pytorch", "target": "onnx", "model": "resnet", "passed": True, "max_abs": 9e-6},
        {**row, "source": "pytorch", "target": "onnx", "model": "vgg", "passed": True, "max_abs": 3e-6},
    ]


def test_update_and_check_from_batch_matrices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- parity-table:start -->\nold\n<!-- parity-table:end -->\nafter\n")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_committed(), indent=1) + "\n")
    monkeypatch.setattr(readme_table, "README", readme)
    monkeypatch.setitem(readme_table.TABLES, "parity", (results, *readme_table.TABLES["parity"][1:]))
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps(MATRIX))
    good = {**MATRIX, "cells": [{**c, "status": "pass", "max_abs": 1e-6} for c in MATRIX["cells"][:2]]}
    (tmp_path / "good.json").write_text(json.dumps(good))
    # the committed results claim pytorch -> onnx on vgg: a matrix where it fails contradicts them
    assert readme_table.main(["--batch-matrix", str(tmp_path / "good.json"), "--check-only"]) == 1  # README stale
    assert readme_table.main(["--batch-matrix", str(tmp_path / "good.json"), "--update"]) == 0
    assert readme_table.main(["--batch-matrix", str(tmp_path / "good.json"), "--check-only"]) == 0
    assert readme_table.main(["--batch-matrix", str(matrix), "--check-only"]) == 1
    assert readme_table.main(["--batch-matrix", str(matrix), "--update"]) == 0
    written = results.read_text()
    assert written.startswith('[\n {\n  "') and written.endswith("}\n]\n")  # as the test run writes it: no churn
    rows = {(r["source"], r["target"], r["model"]): r for r in json.loads(results.read_text())}
    assert rows[("caffe", "onnx", "alexnet")]["passed"]  # another suite's row is kept
    assert not rows[("pytorch", "onnx", "vgg")]["passed"]  # replaced by the matrix's cell
    assert ("pytorch", "caffe", "resnet") in rows and ("pytorch", "cntk", "resnet") not in rows
    text = readme.read_text()
    assert text.startswith("# x\n") and text.endswith("<!-- parity-table:end -->\nafter\n") and "old" not in text
    assert "| caffe | onnx | 1/1 | 1e-06 | alexnet |" in text
    assert "| pytorch | onnx | 1/2 | inf | resnet, vgg (FAIL) |" in text

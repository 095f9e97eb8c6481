"""The output folder of a batch: one folder per cell (its record, parity report and converted files),
written when the cell finishes, and the matrix rewritten after each cell.

OUT/cells/<model>/<target>/cell.json     the record: status, errors, digest of the inputs, attempts
OUT/cells/<model>/<target>/report.html   the parity report (cells that were checked)
OUT/cells/<model>/<target>/model/...     the converted files (cells that passed)
OUT/matrix.json, matrix.md, matrix.html
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console

from runners.common.tensors import atomic_write

from .. import __version__
from ..errors import BrokerError
from ..outputs import _umask
from . import matrix
from .plan import Cell, Plan

STATUSES = ("pass", "fail", "refused", "error", "unchecked")


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """One batch at a time writes an output folder; what a killed one left half-written is removed."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / ".batch.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BrokerError(f"another mmbroker batch is writing to {out}", reference="output-not-writable",
                          file=str(out), hint="wait for it to finish, or give another output folder")  # fmt: skip
    try:
        for staged in (out / "cells").glob("*/.*"):  # a cell folder being written when a batch was killed
            shutil.rmtree(staged, ignore_errors=True)
        yield
    finally:
        lock.release()


def cell_dir(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.model.name / cell.target


def finished(out: Path, cell: Cell) -> dict[str, Any] | None:
    """The record of a finished cell with the same inputs (digest), or None: the cell is to run."""
    path = cell_dir(out, cell) / "cell.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("digest") != cell.digest or record.get("lost"):
        return None
    return record if record.get("status") in STATUSES else None


def save_cell(out: Path, cell: Cell, record: dict[str, Any], get: Any = None) -> dict[str, Any]:
    """Write a cell's folder (files, report, then cell.json) beside its old one and swap it in: a
    killed batch leaves the old cell or the new one, never half of one. `files` maps names to chunks,
    bytes or object refs that `get` (Ray's) reads one at a time. The record, as written."""
    final = cell_dir(out, cell)
    final.parent.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Any]] = record.pop("files", None) or {}
    report: bytes | None = record.pop("report_bytes", None)
    record = {**record, "mmbroker": __version__}
    staging = Path(tempfile.mkdtemp(prefix=f".{cell.target}.", dir=final.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it 0700; the cell folder is an ordinary one
        written = []
        for name, data in files.items():  # a list of chunks
            dest = (staging / "model" / name).resolve()
            if not dest.is_relative_to((staging / "model").resolve()):  # a name from a worker stays in the cell
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as f:
                for chunk in data:
                    f.write(chunk if get is None else get(chunk))
            written.append(f"model/{name}")
        if written:
            record["files"] = written
        if report is not None:
            (staging / "report.html").write_bytes(report)
            record["report"] = "report.html"
        (staging / "cell.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        old = final.with_name(f".{cell.target}.old")
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return record


def write_matrix(out: Path, plan: Plan, cells: list[Cell], records: dict[str, dict[str, Any]]) -> None:
    """matrix.json, matrix.md and matrix.html from the records so far (cells not finished: `pending`)."""
    rows = [matrix.row(c, records.get(c.key)) for c in cells]
    doc = {"plan": str(plan.path), "mmbroker": __version__, "targets": plan.targets,
           "models": [m.name for m in plan.models], "cells": rows}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("matrix.json", json.dumps(doc, indent=1)), ("matrix.md", matrix.markdown(doc)),
                       ("matrix.html", matrix.html_page(doc))):  # fmt: skip
        atomic_write(str(out / name), lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))


@contextmanager
def progress(console: Console | None, total: int, counts: dict[str, int],
             records: dict[str, dict[str, Any]]) -> Iterator[Callable[[dict[str, Any]], None]]:  # fmt: skip
    """A progress bar with counts per status on `console` (none without one); yields `advance(record)`."""
    for r in records.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1

    def line() -> str:
        shown = [f"{s} {counts[s]}" for s in (*STATUSES, "retried", "skipped") if counts.get(s)]
        return "cells: " + (", ".join(shown) or "starting")

    if console is None:

        def tally(record: dict[str, Any]) -> None:
            _tally(counts, record)

        yield tally
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)  # fmt: skip
    with bar:
        task = bar.add_task(line(), total=total, completed=len(records))

        def advance(record: dict[str, Any]) -> None:
            _tally(counts, record)
            bar.update(task, advance=1, description=line())
            if console is not None and record["status"] != "pass":
                console.print(f"{record['model']} -> {record['target']}: {matrix.summary(record)}", highlight=False)

        yield advance


def _tally(counts: dict[str, int], record: dict[str, Any]) -> None:
    counts[record["status"]] = counts.get(record["status"], 0) + 1
    if record.get("attempts", 1) > 1:
        counts["retried"] = counts.get("retried", 0) + 1

"""One cell of a batch, as a Ray task runs it on a worker: the model's files taken from Ray's object
store (nothing read from the head's disk; a remote runner's TLS files neither), `pipeline.convert()`
run in a fresh session (with the remote runners the cell uses), the outcome
classified (pass / fail / refused / error) and returned with the converted files and the parity
report, for the head to write into the output folder."""

from __future__ import annotations

import hashlib
import math
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 32 << 20  # bytes per object in the store: a large weights file never sits whole in one process
# a file in the object store: its name, sha256 and chunks (ObjectRefs to bytes), fetched one at a time
FileRefs = tuple[str, str, list[Any]]
# references that mean the refusal of a target to express the model, not a failure to convert it
REFUSALS = ("unsupported-op", "unsupported-attribute", "unsupported-format")
# a runner that died or stopped answering: the cell is tried again, on any node
CRASHES = ("runner-crashed", "runner-timeout", "runner-exited-early")


# A Ray worker runs cell after cell: it keeps its runners (and the environments it checked) for its
# next cells instead of starting them for each one. A runner exits when its worker does.
_KEPT: dict[str, dict[str, Any]] = {"runners": {}, "envs": {}}


class RunnerCrashed(Exception):
    """A runner died under a cell: raised out of the task so Ray runs the cell again
    (`retry_exceptions`)."""


@dataclass
class RemoteTask:
    """A remote runner a cell uses: its address, and its TLS files (ca, cert, key) in the object store."""

    framework: str
    host: str
    port: int
    tls: bool
    files: dict[str, FileRefs] = field(default_factory=dict)


@dataclass
class CellTask:
    """What a cell's task receives (pickled by Ray; the files' bytes are ObjectRefs)."""

    model: str
    source: str
    target: str
    digest: str
    output_name: str
    files: list[FileRefs]
    options: dict[str, Any] = field(default_factory=dict)
    option_files: dict[str, FileRefs] = field(default_factory=dict)  # --input, --classInputPath
    remotes: list[RemoteTask] = field(default_factory=list)  # frameworks of the cell served remotely


def fetch(refs: FileRefs, folder: Path, get: Any) -> Path:
    """Write a file from its chunks (one chunk in memory at a time) and check its digest."""
    name, digest, chunks = refs
    path = folder / name
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for ref in chunks:
            block = get(ref)
            h.update(block)
            f.write(block)
            del block
    if h.hexdigest() != digest:
        raise RunnerCrashed(f"{name} arrived damaged (sha256 {h.hexdigest()[:12]}, sent {digest[:12]})")
    return path


def chunks(path: Path, put: Any) -> list[Any]:
    """A file into the object store in CHUNK-sized objects (one chunk in this process's memory at a time)."""
    refs = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            refs.append(put(block))
            del block
    return refs


def run(task: CellTask, get: Any, put: Any, attempt: int) -> dict[str, Any]:
    """Convert one model to one target in a temporary folder; the record of the outcome, with the
    converted files (`files`: relative name -> chunks, put in the object store) and the report's bytes
    (`report_bytes`). `get` and `put` are Ray's."""
    from .. import tempdirs

    t0 = time.monotonic()
    record: dict[str, Any] = {"model": task.model, "target": task.target, "source": task.source,
                              "digest": task.digest, "attempts": attempt, "host": socket.gethostname()}  # fmt: skip
    work = tempdirs.make("cell")  # removed even when the worker is killed (the watchdog)
    try:
        (work / "in").mkdir()
        (work / "out").mkdir()
        (work / "opt").mkdir()
        files = [str(fetch(f, work / "in", get)) for f in task.files]
        options = dict(task.options)
        for key, refs in task.option_files.items():
            options[key] = str(fetch(refs, work / "opt", get))
        remotes = {r.framework: _remote_spec(r, work / "tls", get) for r in task.remotes}
        report = work / "report.html"
        options["report"] = str(report)
        record.update(_convert(task, files, options, work / "out" / task.output_name, remotes))
        out = work / "out"
        record["files"] = {str(p.relative_to(out)): chunks(p, put) for p in sorted(out.rglob("*")) if p.is_file()}
        record["report_bytes"] = report.read_bytes() if report.is_file() else None
    finally:
        tempdirs.remove(work)
    record["seconds"] = round(time.monotonic() - t0, 2)
    return record


def _remote_spec(remote: RemoteTask, folder: Path, get: Any) -> Any:
    """The remote runner's spec with its TLS files written in the cell's private folder (mode 0700)."""
    from ..remote import RemoteSpec

    paths = {}
    for k, refs in remote.files.items():  # a folder each: two of them may have the same name
        place = folder / remote.framework / k
        place.mkdir(parents=True)
        paths[k] = fetch(refs, place, get)
        paths[k].chmod(0o600)
    return RemoteSpec(remote.framework, remote.host, remote.port, remote.tls, paths.get("ca"), paths.get("cert"),
                      paths.get("key"))  # fmt: skip


def _convert(task: CellTask, files: list[str], options: dict[str, Any], output: Path,
             remotes: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    from ..errors import BrokerError
    from ..pipeline import Session, convert, convert_request

    try:
        req, _ = convert_request(task.source, files, task.target, output, options, where=task.model)
        local = {fw: r for fw, r in _KEPT["runners"].items() if fw not in remotes}
        with Session(console=None, remotes=remotes, _runners=local, _envs=dict(_KEPT["envs"])) as s:
            try:
                done = convert(s, req)
            finally:
                # local runners are kept for the next cells, not stopped; remote ones are disconnected
                kept = {fw: r for fw, r in s._runners.items() if fw not in remotes and r.alive()}
                _KEPT["runners"] = {**{fw: r for fw, r in _KEPT["runners"].items() if fw in remotes}, **kept}
                _KEPT["envs"] = dict(s._envs)
                for fw in [fw for fw in s._runners if fw not in remotes]:
                    del s._runners[fw]
    except BrokerError as err:
        if err.reference in CRASHES:
            raise RunnerCrashed(f"{err.reference}: {err.message}")
        found = {"reference": err.reference, "message": _local(err.message, files), "node": err.node}
        if err.reference in REFUSALS:
            return {"status": "refused", "op": err.op or "", **found}
        return {"status": "error", **found}
    except Exception as exc:  # a bug of ours, recorded in the cell (the other cells go on)
        return {"status": "error", "reference": "internal-bug", "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8)}  # fmt: skip
    outcome: dict[str, Any] = {"written": [os.path.basename(w) for w in done.written]}
    if done.report is None:
        return {**outcome, "status": "unchecked" if done.written else "error", "note": done.not_verified or done.note}
    outs = done.report.outputs
    outcome.update(
        max_abs=max((o.max_abs for o in outs), default=0.0),
        max_rel=max((o.max_rel for o in outs), default=0.0),
        engines=[done.report.reference_engine, done.report.candidate_engine],
        atol=done.report.atol,
        rtol=done.report.rtol,
    )
    for k in ("max_abs", "max_rel"):
        if math.isinf(outcome[k]) or math.isnan(outcome[k]):
            outcome[k] = str(outcome[k])  # JSON has no inf
    return {**outcome, "status": "pass" if done.report.passed else "fail"}


def _local(message: str, files: list[str]) -> str:
    """A message about the cell's temporary copy of a model file names the file as the plan does."""
    for f in files:
        message = message.replace(f, os.path.basename(f))
    return message

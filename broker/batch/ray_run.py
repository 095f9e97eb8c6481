"""A batch on Ray: a local Ray started for the command (`ray.init()` on this machine) or an existing
cluster joined (`--address`); each model's files put once in Ray's object store in chunks; one task
per (model, target) cell, retried when its worker dies or a runner crashes; results written as they
arrive, with a progress line of counts.

Why tasks and not a pool of our own: Ray already schedules, places by resources, moves the files,
and retries work lost with a worker or a node (the user asked for an existing engine here)."""

from __future__ import annotations

import os
import platform
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from ..errors import BrokerError
from ..remote import RemoteSpec
from . import cell as cell_mod
from . import store
from .plan import Cell, Plan, PlanModel, file_digest

MAX_RETRIES = 2  # a cell runs at most 3 times


@dataclass
class BatchOptions:
    address: str | None = None  # None: a local Ray for this command
    force: bool = False  # run finished cells again
    cpus: int | None = None  # CPUs of the local Ray (default: this machine's, at most 2 cells at once)
    console: Console | None = None  # progress, on stderr
    on_result: Callable[[dict[str, Any]], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BrokerError(
            "mmbroker batch runs on Ray, which is not installed",
            reference="missing-dependency",
            hint="pip install 'mmbroker[batch]'",
        )
    return ray


def interpreter_resource(framework: str) -> str:
    """The Ray resource a node declares when it can run `framework`'s runner although its interpreter
    is not the broker's (CNTK: CPython 3.6): `python-3.6`; "" for runners any node can build."""
    from ..envs.interpreters import version_matches, wanted_minor
    from ..envs.spec import load_spec

    spec = load_spec(framework)
    if version_matches(platform.python_version(), spec.python):
        return ""
    return f"python-{wanted_minor(spec.python, spec.prefer)}"


def _local_resources(frameworks: set[str]) -> dict[str, float]:
    """Custom resources of this machine for a local Ray: `python-X.Y` for each old interpreter a
    plan's runner needs that is found here (its environment built, or the interpreter on PATH/pyenv)."""
    from ..envs.interpreters import find_interpreter
    from ..envs.spec import load_spec

    found: dict[str, float] = {}
    for fw in sorted(frameworks):
        name = interpreter_resource(fw)
        if not name or name in found:
            continue
        spec = load_spec(fw)
        try:
            find_interpreter(spec.python, spec.prefer, framework=fw)
        except BrokerError:
            continue
        found[name] = 1000.0
    return found


class _Attempts:
    """Counts the attempts of each cell (a Ray actor): a cell whose worker was killed mid-cell starts
    again as attempt 2, and its record says so."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def begin(self, key: str) -> int:
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.seen[key]

    def count(self, key: str) -> int:
        return self.seen.get(key, 0)


def _cell_task(task: cell_mod.CellTask, attempts: Any) -> dict[str, Any]:
    """The body of a cell's Ray task, on a worker."""
    import ray

    attempt = ray.get(attempts.begin.remote(f"{task.model}/{task.target}"))
    return cell_mod.run(task, ray.get, ray.put, attempt)


def _put_file(ray: Any, path: Path) -> cell_mod.FileRefs:
    """A model file into the object store, in chunks."""
    return (path.name, file_digest(path), cell_mod.chunks(path, ray.put))


def _start(ray: Any, plan_frameworks: set[str], opts: BatchOptions) -> bool:
    """Join the cluster at --address, or start a local Ray; True when this command started it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    common: dict[str, Any] = {"namespace": "mmbroker", "log_to_driver": False, "logging_level": "ERROR"}
    if opts.address:
        try:
            ray.init(address=opts.address, **common)
        except Exception as exc:  # ConnectionError, a wrong scheme, a version mismatch of Ray
            raise BrokerError(f"cannot join the Ray cluster at {opts.address}: {exc}", reference="bad-option",
                              hint="give the address of a running cluster (`ray start --head` prints it): "
                              "ray://HOST:10001 (Ray Client) or HOST:6379; a cluster with token authentication "
                              "needs its token in RAY_AUTH_TOKEN, as any Ray driver does")  # fmt: skip
        return True
    cpus = opts.cpus or min(os.cpu_count() or 1, 2)
    os.environ.pop("RAY_ADDRESS", None)  # "local": a new Ray, not the last one `ray start` left on this machine
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, resources=_local_resources(plan_frameworks),
             runtime_env={"env_vars": _worker_env()}, **common)  # fmt: skip
    return True


def _worker_env() -> dict[str, str]:
    """What the workers of a local Ray inherit from the command: where runner environments live and the
    other MMBROKER_* settings (a cluster's nodes keep their own)."""
    return {k: v for k, v in os.environ.items() if k.startswith("MMBROKER_")}


def _needs(cell: Cell) -> dict[str, float]:
    """The custom resources a cell's node must have: none for a framework a remote runner serves."""
    local = {cell.model.source, cell.target} - set(cell.served)
    names = {interpreter_resource(fw) for fw in local} - {""}
    return {n: 1.0 for n in names}


def run_batch(plan: Plan, out: Path, opts: BatchOptions) -> list[dict[str, Any]]:
    """Every cell of the plan finished (run now, or found finished in `out`), in plan order."""
    with store.locked(out):
        return _run_batch(plan, out, opts)


def _run_batch(plan: Plan, out: Path, opts: BatchOptions) -> list[dict[str, Any]]:
    cells = plan.cells()
    records: dict[str, dict[str, Any]] = {}
    todo: list[Cell] = []
    for c in cells:
        found = None if opts.force else store.finished(out, c)
        if found is not None:
            records[c.key] = {**found, "skipped": True}
        else:
            todo.append(c)
    opts.counts["skipped"] = len(cells) - len(todo)
    store.write_matrix(out, plan, cells, records)
    if todo:
        _run_cells(plan, out, cells, todo, records, opts)
    store.write_matrix(out, plan, cells, records)
    return [records[c.key] for c in cells if c.key in records]


def _run_cells(plan: Plan, out: Path, cells: list[Cell], todo: list[Cell], records: dict[str, dict[str, Any]],
               opts: BatchOptions) -> None:  # fmt: skip
    ray = import_ray()
    started = _start(ray, {fw for c in todo for fw in {c.model.source, c.target} - set(c.served)}, opts)
    try:
        attempts = ray.remote(num_cpus=0)(_Attempts).options(name=f"attempts-{uuid.uuid4().hex[:12]}").remote()
        remote = ray.remote(_cell_task)
        have = ray.cluster_resources()
        uploads: dict[str, tuple[list[cell_mod.FileRefs], dict[str, cell_mod.FileRefs]]] = {}
        remotes: dict[str, cell_mod.RemoteTask] = {}
        pending: dict[Any, Cell] = {}
        for c in todo:
            needs = _needs(c)
            missing = [n for n in needs if n not in have]
            if missing:  # no node could take it: Ray would wait for one for ever
                _finish(out, plan, cells, records, opts, c, _unplaceable(c, missing))
                continue
            if c.model.name not in uploads:
                uploads[c.model.name] = _upload(ray, c.model)
            files, option_files = uploads[c.model.name]
            for fw in c.served:
                if fw not in remotes:
                    remotes[fw] = _upload_remote(ray, plan.runners[fw])
            task = cell_mod.CellTask(c.model.name, c.model.source, c.target, c.digest, c.output_name, files,
                                     c.model.options, option_files, [remotes[fw] for fw in c.served])  # fmt: skip
            ref = remote.options(num_cpus=1, resources=needs, max_retries=MAX_RETRIES,
                                 retry_exceptions=[cell_mod.RunnerCrashed],
                                 name=f"cell {c.key}").remote(task, attempts)  # fmt: skip
            pending[ref] = c
        with store.progress(opts.console, len(cells), opts.counts, records) as advance:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                c = pending.pop(ready[0])
                record = _outcome(ray, ready[0], c, attempts)
                _finish(out, plan, cells, records, opts, c, record, ray.get)
                advance(record)
    finally:
        if started:
            ray.shutdown()


def _upload(ray: Any, model: PlanModel) -> tuple[list[cell_mod.FileRefs], dict[str, cell_mod.FileRefs]]:
    return [_put_file(ray, f) for f in model.files], {k: _put_file(ray, p) for k, p in model.option_files.items()}


def _upload_remote(ray: Any, spec: RemoteSpec) -> cell_mod.RemoteTask:
    """A remote runner for the cells' tasks: its TLS files go into the object store like model files
    (a worker on another node reads nothing from this disk)."""
    given = {"ca": spec.ca, "cert": spec.cert, "key": spec.key}
    files = {k: _put_file(ray, p) for k, p in given.items() if p is not None}
    return cell_mod.RemoteTask(spec.framework, spec.host, spec.port, spec.tls, files)


def _outcome(ray: Any, ref: Any, c: Cell, attempts: Any) -> dict[str, Any]:
    """The task's record, or an error record when every attempt failed."""
    try:
        return dict(ray.get(ref))
    except Exception as exc:
        tries = _count(ray, attempts, c.key)
        cause = getattr(exc, "cause", None)
        base = {"model": c.model.name, "target": c.target, "source": c.model.source, "digest": c.digest,
                "attempts": tries, "status": "error"}  # fmt: skip
        if isinstance(cause, cell_mod.RunnerCrashed):  # the runner died at every attempt: the model's doing
            return {**base, "reference": "runner-crashed", "message": str(cause)}
        # the worker or its node was lost at every attempt: not a result, run again on resume
        return {**base, "reference": "worker-lost", "lost": True,
                "message": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}  # fmt: skip


def _count(ray: Any, attempts: Any, key: str) -> int:
    try:
        return int(ray.get(attempts.count.remote(key), timeout=30))
    except Exception:  # the actor itself was lost
        return MAX_RETRIES + 1


def _unplaceable(c: Cell, missing: list[str]) -> dict[str, Any]:
    return {"model": c.model.name, "target": c.target, "source": c.model.source, "digest": c.digest,
            "attempts": 0, "status": "error", "reference": "env-python-missing", "lost": True,
            "message": f"no Ray node declares {', '.join(missing)}, which the {c.key} cell needs",
            "hint": f"install that Python on a node and start it with ray start --resources "
                    f"'{{\"{missing[0]}\": 1000}}'"}  # fmt: skip


def _finish(out: Path, plan: Plan, cells: list[Cell], records: dict[str, dict[str, Any]], opts: BatchOptions,
            c: Cell, record: dict[str, Any], get: Any = None) -> None:  # fmt: skip
    try:
        records[c.key] = store.save_cell(out, c, record, get)
    except Exception as exc:  # the converted files were lost with their worker before the head read them
        if get is None or type(exc).__module__.split(".")[0] != "ray":
            raise
        lost = {k: v for k, v in record.items() if k not in ("files", "report_bytes")}
        records[c.key] = store.save_cell(out, c, {**lost, "status": "error", "reference": "worker-lost", "lost": True,
                                                  "message": f"the converted files were lost: {exc}"})  # fmt: skip
    store.write_matrix(out, plan, cells, records)
    if opts.on_result is not None:
        opts.on_result(records[c.key])

"""Whether an environment still has the files it was built with.

Every installed distribution lists its files with sha256 and size in `<dist-info>/RECORD` (the
wheel spec). When an environment is built, its marker records (section `files`):
- `records`: the sha256 of each RECORD file, which pins every file's hash transitively;
- `baseline`: files that already differed from their RECORD line when the environment was
  verified (some wheels ship a stale RECORD line; a setup hook may patch a file), as they were;
- `sentinels`: sizes of the files whose loss breaks an import at once: every shared library and
  extension module, every top-level module or package `__init__.py`, the RECORDs, pyvenv.cfg.

Three levels of checking, by cost (measured on the PyTorch environment, 17,700 files, 845 MB,
warm page cache, on a shared 2-core machine; see the numbers in `check`):
- `sentinel`: stat the sentinels only (~1 ms; every `ensure_env`, i.e. every conversion);
- `quick`: hash the RECORDs, stat every listed file (~0.15 s; `env list`, `env setup`, and when a
  runner fails in a way a damaged environment explains);
- `full`: sha256 of every listed file (~2-3 s; `env doctor`).
An environment whose marker has no `files` section (built by an older mmbroker) is valid but
unverified: only files missing from their RECORD count as damage there.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BrokerError

SCHEMA = 1
LEVELS = ("sentinel", "quick", "full")


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the environment directory
    kind: str  # missing | changed (size differs) | modified (content differs)

    @property
    def what(self) -> str:
        name = Path(self.path).name
        inside = _site_relative(self.path)
        if ".so" in name or name.endswith((".dylib", ".pyd", ".dll")):
            return "shared library"
        if name == "RECORD" and inside.endswith(".dist-info/RECORD"):
            return "list of installed files of " + inside.split("/")[0].removesuffix(".dist-info")
        if name.endswith(".py") and inside != self.path:
            module = inside.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            return "module " + module
        return "file"

    def text(self) -> str:
        verb = {"missing": "is missing", "changed": "changed size", "modified": "was modified"}[self.kind]
        return f"{_site_relative(self.path)} ({self.what}) {verb}"


def _site_relative(path: str) -> str:
    """`onnx/helper.py` for `lib/python3.11/site-packages/onnx/helper.py`."""
    marker = "/site-packages/"
    return path.split(marker, 1)[1] if marker in path else path


def summary(problems: list[Problem], limit: int = 4) -> str:
    shown = "; ".join(p.text() for p in problems[:limit])
    more = len(problems) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


def site_packages(env_dir: Path) -> list[Path]:
    """The environment's site-packages folders, each once (a venv's lib64 is a link to lib)."""
    seen: set[Path] = set()
    out = []
    for p in sorted(env_dir.glob("lib*/python*/site-packages")):
        real = p.resolve()
        if p.is_dir() and real not in seen and not p.parent.parent.is_symlink():
            seen.add(real)
            out.append(p)
    return out


def records(env_dir: Path) -> list[Path]:
    return [r for sp in site_packages(env_dir) for r in sorted(sp.glob("*.dist-info/RECORD"))]


def _rel(env_dir: Path, path: Path) -> str:
    return path.relative_to(env_dir).as_posix()


def record_lines(env_dir: Path, record: Path) -> Iterator[tuple[str, str, int]]:
    """(path relative to env_dir, urlsafe-base64 sha256, size) of each hashed file a RECORD lists,
    inside the environment only."""
    base = os.path.relpath(record.parent.parent, env_dir)  # lib/python3.X/site-packages
    with open(record, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f):
            if len(row) < 3 or not row[1].startswith("sha256=") or not row[2].isdigit():
                continue
            rel = os.path.normpath(os.path.join(base, row[0]))
            if rel.startswith("..") or os.path.isabs(rel):
                continue  # a RECORD line pointing outside the environment is not ours to check
            yield rel.replace(os.sep, "/"), row[1][len("sha256=") :], int(row[2])


def file_sha256(path: Path) -> bytes:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _is_sentinel(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    inside = _site_relative(rel)
    if ".so" in name or name.endswith(".dylib"):
        return True
    if inside == rel:  # outside site-packages (bin/ scripts...)
        return False
    parts = inside.split("/")
    return (len(parts) == 1 and name.endswith(".py")) or (len(parts) == 2 and name == "__init__.py")


def record_state(env_dir: Path) -> dict[str, Any]:
    """The marker's `files` section for a freshly built, verified environment (reads every file)."""
    recs: dict[str, str] = {}
    baseline: dict[str, list[Any] | None] = {}
    sentinels: dict[str, int] = {}
    count = total = 0
    for record in records(env_dir):
        recs[_rel(env_dir, record)] = hashlib.sha256(record.read_bytes()).hexdigest()
        sentinels[_rel(env_dir, record)] = record.stat().st_size
        for rel, digest, size in record_lines(env_dir, record):
            path = env_dir / rel
            try:
                actual = (_b64(file_sha256(path)), path.stat().st_size)
            except OSError:
                baseline[rel] = None  # listed but not installed: nothing to check
                continue
            count += 1
            total += actual[1]
            if actual != (digest, size):
                baseline[rel] = list(actual)
            if _is_sentinel(rel):
                sentinels[rel] = actual[1]
    cfg = env_dir / "pyvenv.cfg"
    if cfg.is_file():
        sentinels["pyvenv.cfg"] = cfg.stat().st_size
    return {
        "schema": SCHEMA,
        "records": recs,
        "baseline": baseline,
        "sentinels": sentinels,
        "files": count,
        "bytes": total,
    }


def _size_problem(env_dir: Path, rel: str, size: int) -> Problem | None:
    try:
        actual = os.stat(os.path.join(env_dir, rel)).st_size
    except OSError:
        return Problem(rel, "missing")
    return Problem(rel, "changed") if actual != size else None


def check(env_dir: Path, files: dict[str, Any] | None, level: str = "quick") -> list[Problem]:
    """What changed in the environment since it was built, at `level` (see the module docstring).
    `files` is the marker's section; None (an older marker) checks only that RECORD-listed files exist."""
    assert level in LEVELS, level
    verified = isinstance(files, dict) and files.get("schema") == SCHEMA
    section: dict[str, Any] = files if verified and files is not None else {}
    problems: list[Problem] = []
    if level == "sentinel":
        for rel, size in section.get("sentinels", {}).items():
            problems += filter(None, [_size_problem(env_dir, rel, int(size))])
        return problems
    known: dict[str, str] = section.get("records", {})
    baseline: dict[str, Any] = section.get("baseline", {})
    found = {_rel(env_dir, r): r for r in records(env_dir)}
    problems += [Problem(rel, "missing") for rel in known if rel not in found]
    for rel, record in found.items():
        if rel in known and hashlib.sha256(record.read_bytes()).hexdigest() != known[rel]:
            problems.append(Problem(rel, "modified"))
        for path_rel, digest, size in record_lines(env_dir, record):
            if path_rel in baseline:
                if baseline[path_rel] is None:
                    continue  # not installed in the first place
                digest, size = baseline[path_rel]
            problem = _size_problem(env_dir, path_rel, size)
            if problem is not None and (verified or problem.kind == "missing"):
                problems.append(problem)
            elif problem is None and verified and level == "full":
                if _b64(file_sha256(env_dir / path_rel)) != digest:
                    problems.append(Problem(path_rel, "modified"))
    return problems


def damaged_error(framework: str, env_dir: Path, *, because: BrokerError | None = None) -> BrokerError | None:
    """`env-damaged` naming what changed in the environment (quick check), or None when intact."""
    from .marker import read_marker

    marker = read_marker(env_dir)
    if marker is None:
        return None
    problems = check(env_dir, marker.get("files"), "quick")
    if not problems:
        return None
    message = f"{framework} environment at {env_dir} is damaged: {summary(problems)}"
    if because is not None:
        lines = [line for line in because.message.splitlines() if line.strip()] or [str(because)]
        message += f"\nthe runner failed: {lines[0]}" + (f" ({lines[-1].strip()})" if len(lines) > 1 else "")
    err = BrokerError(
        message,
        reference="env-damaged",
        framework=framework,
        hint=f"rebuild it: mmbroker env setup {framework} --force",
        context={"problems": [p.text() for p in problems]},
    )
    if because is not None:
        err.debug_detail = because.debug_detail
    return err

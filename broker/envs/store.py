"""The environments under `$MMBROKER_HOME/envs`: find, build when needed, list, remove.

`ensure_env` returns at once when the environment for the current key is there, its marker
matches and its files pass the check (integrity.py: `sentinel` level on the hot path, `quick` for
`env setup`); otherwise it takes the framework's file lock (`envs/.<fw>.lock`), looks again
(another process may have built it meanwhile), clears what an interrupted build left, says why it
builds (none yet, what changed, damaged: which files, an interrupted build) and builds.
Leftovers of interrupted builds (`.tmp-*`, `.trash-*`) are removed whenever the lock is free,
even when nothing is built. Environments of the same framework with another key stay until
`remove_env` or `prune_envs`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import paths, tempdirs
from ..errors import BrokerError
from . import build, integrity
from .interpreters import find_interpreter
from .key import DIR_KEY_LENGTH, describe_change, env_dirname, env_key, key_material
from .marker import read_marker, remove_marker, write_marker
from .progress import default_console
from .spec import RunnerSpec, load_spec

LOCK_TIMEOUT = 3600.0
_ENV_NAME = re.compile(r"^(?P<fw>[A-Za-z0-9_][A-Za-z0-9_.-]*?)-(?P<key>[0-9a-f]{%d})$" % DIR_KEY_LENGTH)
_TMP_NAME = re.compile(r"^\.(?P<kind>tmp|trash)-(?P<fw>[A-Za-z0-9_][A-Za-z0-9_.-]*?)-(?P<rand>[0-9a-f]{8})$")


@dataclass
class EnvHandle:
    framework: str
    key: str
    path: Path
    python: Path  # the environment's bin/python
    env_vars: dict[str, str] = field(default_factory=dict)  # variables the runner needs
    versions: dict[str, str] = field(default_factory=dict)
    python_version: str = ""
    built: bool = False  # built by this call
    reason: str = ""  # why it was built


@dataclass
class EnvInfo:
    framework: str
    key: str
    path: Path
    status: str  # valid | damaged | stale | incomplete
    python: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    created: str = ""
    current: bool = False  # the one ensure_env would use now
    note: str = ""
    problems: list[str] = field(default_factory=list)  # what changed in a damaged environment

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "key": self.key,
            "path": str(self.path),
            "status": self.status,
            "python": self.python,
            "versions": self.versions,
            "size_bytes": self.size_bytes,
            "created": self.created,
            "current": self.current,
            "note": self.note,
            "problems": self.problems,
        }


def lock_path(framework: str) -> Path:
    return paths.envs_dir() / f".{framework}.lock"


@contextmanager
def framework_lock(framework: str, console: Console | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive per-framework lock across processes; says so when it has to wait."""
    import filelock  # here: 40 ms to import, and a conversion with its environments built takes no lock

    paths.envs_dir().mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(lock_path(framework)))
    try:
        lock.acquire(timeout=min(0.5, timeout))
    except filelock.Timeout:
        if timeout <= 0.5:
            raise BrokerError(
                f"the {framework} environment is being built by another process",
                reference="env-busy",
                framework=framework,
                hint="wait for it to finish; the lock is released when the process holding it ends",
            )
        (console or default_console()).print(
            f"waiting for another build of the {framework} environment (lock {lock_path(framework)})"
        )
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout:
            raise BrokerError(
                f"another build of the {framework} environment did not finish within {timeout:.0f} s",
                reference="env-busy",
                framework=framework,
                hint="the lock is released when the process holding it ends: find it with "
                f"fuser {lock_path(framework)}",
            )
    try:
        yield
    finally:
        lock.release()


def _handle(spec_fw: str, path: Path, marker: dict[str, Any], *, built: bool = False, reason: str = "") -> EnvHandle:
    return EnvHandle(
        framework=spec_fw,
        key=marker["key"],
        path=path,
        python=path / "bin" / "python",
        env_vars=build.expand_env_vars(dict(marker.get("env_vars", {})), path),
        versions=dict(marker.get("versions", {})),
        python_version=str(marker.get("python", "")),
        built=built,
        reason=reason,
    )


def _valid(path: Path, key: str, check: str = "sentinel") -> tuple[dict[str, Any] | None, list[integrity.Problem]]:
    """(marker, []) for a complete environment of `key` whose files pass `check`; (marker, problems)
    for a damaged one; (None, []) when there is none."""
    marker = read_marker(path)
    if marker is None or marker.get("key") != key or not (path / "bin" / "python").exists():
        return None, []
    return marker, integrity.check(path, marker.get("files"), check)


def _leftovers(framework: str) -> list[Path]:
    root = paths.envs_dir()
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = _TMP_NAME.match(p.name)
        if m and m["fw"] == framework:
            out.append(p)
    return out


def _env_dirs() -> list[tuple[str, Path]]:
    root = paths.envs_dir()
    if not root.is_dir():
        return []
    found = []
    for p in sorted(root.iterdir()):
        m = _ENV_NAME.match(p.name)
        if m and p.is_dir():
            found.append((m["fw"], p))
    return found


def _resolve(
    framework: str, python: str | Path | None, runners_dir: Path | None
) -> tuple[RunnerSpec, Any, dict[str, Any], str, Path]:
    spec = load_spec(framework, runners_dir)
    interp = find_interpreter(spec.python, spec.prefer, python, framework=framework)
    material = key_material(spec, interp)
    key = env_key(material)
    return spec, interp, material, key, paths.envs_dir() / env_dirname(framework, key)


def build_reason(
    framework: str,
    material: dict[str, Any],
    final: Path,
    leftovers: list[Path],
    force: bool,
    problems: list[integrity.Problem] | None = None,
) -> str:
    if force:
        return "rebuild requested (--force)"
    if problems:
        return "damaged: " + integrity.summary(problems)
    if leftovers or final.exists():
        return "previous build was interrupted"
    previous = [
        (m.get("created", ""), m)
        for fw, p in _env_dirs()
        if fw == framework
        for m in [read_marker(p)]
        if m is not None and isinstance(m.get("material"), dict)
    ]
    if previous:
        latest = max(previous, key=lambda item: item[0])[1]
        return "changed: " + describe_change(latest["material"], material)
    return "none yet"


def clear_leftovers(framework: str, console: Console | None = None) -> list[Path]:
    """Remove what interrupted builds of `framework` left, unless a build holds the lock now."""
    leftovers = _leftovers(framework)
    if not leftovers:
        return []
    try:
        with framework_lock(framework, timeout=0):
            for p in leftovers:
                shutil.rmtree(p, ignore_errors=True)
    except BrokerError:
        return []  # a build is running: they may be its own
    (console or default_console()).print(
        f"removed {len(leftovers)} folder(s) left by an interrupted {framework} build", highlight=False, markup=False
    )
    return leftovers


def record_files(framework: str, env_dir: Path, console: Console | None = None) -> bool:
    """Upgrade an environment built before file hashes were recorded: record them now (its files
    were just found all present). Skipped while a build holds the lock."""
    try:
        with framework_lock(framework, timeout=0):
            marker = read_marker(env_dir)
            if marker is None or "files" in marker:
                return False
            marker["files"] = integrity.record_state(env_dir)
            write_marker(env_dir, marker)
    except BrokerError:
        return False
    (console or default_console()).print(
        f"{framework} environment: recorded the hashes of its {marker['files']['files']} installed files",
        highlight=False,
        markup=False,
    )
    return True


def ensure_env(
    framework: str,
    *,
    python: str | Path | None = None,
    find_links: tuple[str, ...] | list[str] = (),
    no_index: bool = False,
    force: bool = False,
    check: str = "sentinel",
    console: Console | None = None,
    runners_dir: Path | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> EnvHandle:
    """The framework's environment for the interpreter found (or given), built first if needed.

    `check` is how closely an existing environment's files are checked (integrity.LEVELS): the
    default `sentinel` costs about a millisecond; `env setup` asks for `quick`. A damaged
    environment is rebuilt, saying which files changed. With `quick` or `full`, an environment
    built before hashes were recorded gets them recorded."""
    spec, interp, material, key, final = _resolve(framework, python, runners_dir)
    if not force:
        marker, problems = _valid(final, key, check)
        if marker is not None and not problems:
            clear_leftovers(framework, console)
            if check != "sentinel" and "files" not in marker:
                record_files(framework, final, console)
            return _handle(framework, final, marker)
    con = console or default_console()
    with framework_lock(framework, con, lock_timeout):
        problems = []
        if not force:
            marker, problems = _valid(final, key, check)
            if marker is not None and not problems:  # another process built it while we waited
                return _handle(framework, final, marker)
        leftovers = _leftovers(framework)
        reason = build_reason(framework, material, final, leftovers, force, problems)
        for p in leftovers:
            shutil.rmtree(p, ignore_errors=True)
        con.print(f"building {framework} environment: {reason}", highlight=False, markup=False)
        marker = build.build_env(
            spec, interp, material, key, final, find_links=tuple(find_links), no_index=no_index, console=con
        )
        con.print(
            f"{framework} environment ready in {marker['build_seconds']:.0f} s: {final}", highlight=False, markup=False
        )
        return _handle(framework, final, marker, built=True, reason=reason)


def find_env(framework: str, *, python: str | Path | None = None, runners_dir: Path | None = None) -> EnvHandle | None:
    """The valid environment ensure_env would return now, without building; None if there is none."""
    _, _, _, key, final = _resolve(framework, python, runners_dir)
    marker, problems = _valid(final, key)
    return _handle(framework, final, marker) if marker is not None and not problems else None


def dir_size(path: Path) -> int:
    total = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            entries = list(d.iterdir())
        except OSError:
            continue
        for e in entries:
            try:
                st = e.lstat()
            except OSError:
                continue
            if e.is_dir() and not e.is_symlink():
                stack.append(e)
            else:
                total += st.st_size
    return total


def _spec_part(material: dict[str, Any]) -> dict[str, Any]:
    return {k: material.get(k) for k in ("schema", "framework", "requirements", "protocol", "install")}


def list_envs(*, runners_dir: Path | None = None, sizes: bool = True, verify: bool = True) -> list[EnvInfo]:
    """Every environment directory with its status: valid, damaged (files missing or changed since the
    build, `quick` check; with verify), stale (spec or interpreter changed since) or incomplete (no
    marker: an interrupted build)."""
    current_spec: dict[str, dict[str, Any] | None] = {}
    current_key: dict[str, str] = {}

    def spec_for(fw: str) -> dict[str, Any] | None:
        if fw not in current_spec:
            try:
                spec = load_spec(fw, runners_dir)
                interp = find_interpreter(spec.python, spec.prefer, framework=fw)
                material = key_material(spec, interp)
                current_spec[fw] = _spec_part(material)
                current_key[fw] = env_key(material)
            except BrokerError:
                current_spec[fw] = None
        return current_spec[fw]

    out: list[EnvInfo] = []
    for fw, p in _env_dirs():
        marker = read_marker(p)
        size = dir_size(p) if sizes else 0
        if marker is None:
            out.append(
                EnvInfo(
                    fw,
                    p.name.rsplit("-", 1)[1],
                    p,
                    "incomplete",
                    size_bytes=size,
                    note="no marker: the build did not finish",
                )
            )
            continue
        material = marker.get("material", {})
        status, note = "valid", ""
        interp_path = Path(str(marker.get("interpreter", "")))
        if not (p / "bin" / "python").exists():
            status, note = "stale", "bin/python is missing"
        elif marker.get("interpreter") and not interp_path.exists():
            status, note = "stale", f"its interpreter {interp_path} is gone"
        else:
            now = spec_for(fw)
            if now is None:
                status, note = "stale", "framework spec not loadable"
            elif now != _spec_part(material):
                status, note = "stale", "changed: " + describe_change(material, {**material, **now})
        problems = integrity.check(p, marker.get("files"), "quick") if verify else []
        if problems:
            status, note = "damaged", integrity.summary(problems, limit=2)
        elif status == "valid" and verify and "files" not in marker:
            note = "unverified: built before file hashes were recorded"
        out.append(
            EnvInfo(
                framework=fw,
                key=marker["key"],
                path=p,
                status=status,
                python=str(marker.get("python", "")),
                versions=dict(marker.get("versions", {})),
                size_bytes=size,
                created=str(marker.get("created", "")),
                current=status == "valid" and current_key.get(fw) == marker["key"],
                note=note,
                problems=[pr.text() for pr in problems],
            )
        )
    root = paths.envs_dir()
    for p in sorted(root.iterdir()) if root.is_dir() else []:
        m = _TMP_NAME.match(p.name)
        if m and p.is_dir():
            out.append(
                EnvInfo(
                    m["fw"],
                    "",
                    p,
                    "incomplete",
                    size_bytes=dir_size(p) if sizes else 0,
                    note="build in progress or interrupted" if m["kind"] == "tmp" else "being removed",
                )
            )
    return out


def _remove(paths_: list[Path], framework: str) -> list[Path]:
    removed = []
    with framework_lock(framework, timeout=0.5):
        for p in paths_:
            remove_marker(p)  # first, so a half-removed directory never looks valid
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def remove_env(target: str = "", *, all_envs: bool = False) -> list[Path]:
    """Remove the environments of a framework, or the one whose key starts with `target`
    (or whose directory is named `target`); with all_envs, every one. Returns what was removed."""
    infos = list_envs(sizes=False, verify=False)
    if all_envs:
        chosen = [i for i in infos if not target or i.framework == target]
    else:
        chosen = [i for i in infos if i.framework == target]
        if not chosen and len(target) >= 4:
            t = target.lower()
            chosen = [i for i in infos if (i.key and i.key.startswith(t)) or i.path.name == target]
    if not chosen:
        raise BrokerError(
            f"no environment matches {target!r}" if target else "there are no environments",
            reference="env-not-found",
            hint="see the frameworks and keys with: mmbroker env list",
        )
    removed: list[Path] = []
    by_fw: dict[str, list[Path]] = {}
    for i in chosen:
        by_fw.setdefault(i.framework, []).append(i.path)
    for fw, items in by_fw.items():
        removed += _remove(items, fw)
    return removed


def stale_locks() -> list[Path]:
    """Lock files no process holds (a lock is released when its holder ends, the file stays)."""
    import filelock

    root = paths.envs_dir()
    found = []
    for p in sorted(root.glob(".*.lock")) if root.is_dir() else []:
        lock = filelock.FileLock(str(p))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            continue
        lock.release()
        found.append(p)
    return found


def prune_envs() -> list[Path]:
    """Remove every stale, damaged and incomplete environment (not one being built right now), the
    lock files no process holds, and the temporary folders of broker processes that died."""
    removed: list[Path] = []
    by_fw: dict[str, list[Path]] = {}
    for i in list_envs(sizes=False):
        if i.status != "valid":
            by_fw.setdefault(i.framework, []).append(i.path)
    for fw, items in by_fw.items():
        try:
            removed += _remove(items, fw)
        except BrokerError:
            continue  # being built: leave it
    for p in stale_locks():
        # Only while no build runs: a process that opened the file just before it goes would lock a
        # file no other process can see. `env prune` is run by hand, between builds.
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed + tempdirs.sweep_stale()

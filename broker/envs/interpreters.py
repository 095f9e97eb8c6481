"""Finding a CPython for a runner: `--python PATH`, else `pythonX.Y` on PATH, else pyenv's versions.

Candidates are ranked by the spec: its `prefer` versions in order, then the newest matching
minor version; within one minor version PATH comes before pyenv. Names only rank candidates;
each one is run (`-c ...`) to read its real version, implementation and platform tag, and the
first that answers and matches the range is used, by its real executable (not a pyenv shim).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BrokerError

PROBE = (
    "import sys, json, platform, sysconfig; "
    "print(json.dumps({'executable': sys.executable, 'version': platform.python_version(), "
    "'implementation': platform.python_implementation().lower(), 'platform': sysconfig.get_platform(), "
    "'base_prefix': getattr(sys, 'base_prefix', sys.prefix)}))"
)
_OPS = ("~=", ">=", "<=", "==", "!=", ">", "<")


@dataclass(frozen=True)
class Interpreter:
    path: Path  # the real executable
    version: str  # full x.y.z
    implementation: str  # "cpython"
    platform: str  # sysconfig.get_platform(), e.g. "linux-x86_64"
    source: str = ""  # "--python", "PATH" or "pyenv"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return _vtuple(self.version)


def _vtuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        m = re.match(r"\d+", part)
        if m is None:
            break
        out.append(int(m.group()))
    return tuple(out)


def version_matches(version: str, spec: str) -> bool:
    """Whether `version` ("3.11.7") satisfies a range such as ">=3.10,<3.14" or "==3.6.*"."""
    have = _vtuple(version)
    for clause in (c.strip() for c in spec.split(",")):
        if not clause:
            continue
        op = next((o for o in _OPS if clause.startswith(o)), "==")
        want_text = clause[len(op) :].strip() if clause.startswith(op) else clause
        if want_text.endswith(".*"):
            prefix = _vtuple(want_text[:-2])
            hit = have[: len(prefix)] == prefix
            if (op == "==" and not hit) or (op == "!=" and hit):
                return False
            continue
        want = _vtuple(want_text)
        width = max(len(have), len(want))
        a = have + (0,) * (width - len(have))
        b = want + (0,) * (width - len(want))
        ok = {
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "==": a == b,
            "!=": a != b,
            "~=": a >= b and a[: max(len(want) - 1, 1)] == b[: max(len(want) - 1, 1)],
        }[op]
        if not ok:
            return False
    return True


_PROBES = "interpreters.json"  # under $MMBROKER_HOME: what each interpreter said, by its file's identity


def _probe_file() -> Path:
    from .. import paths

    return paths.home() / _PROBES


def _remembered(path: str, stamp: list[int]) -> Interpreter | None:
    try:
        entry = json.loads(_probe_file().read_text()).get(path)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or entry.get("stamp") != stamp:
        return None
    try:
        info = entry["info"]
        return Interpreter(Path(info["path"]), info["version"], info["implementation"], info["platform"])
    except (KeyError, TypeError):
        return None


def _remember(path: str, stamp: list[int], found: Interpreter) -> None:
    target = _probe_file()
    try:
        known = json.loads(target.read_text())
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    info = {"path": str(found.path), "version": found.version, "implementation": found.implementation,
            "platform": found.platform}  # fmt: skip
    known[path] = {"stamp": stamp, "info": info}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{_PROBES}.{os.getpid()}.part")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, target)
    except OSError:
        pass


@functools.cache
def _probe_cached(path: str, mtime: float) -> Interpreter | None:
    """What the interpreter at `path` is. Asked once per interpreter file: running one costs a
    process start (0.1-1 s), on every command; the answer is kept in $MMBROKER_HOME keyed by the
    file's device, inode, size and mtime of the interpreter it resolves to."""
    try:
        st = os.stat(path)
        stamp: list[Any] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, *_shim_context(path)]
    except OSError:
        return None
    found = _remembered(path, stamp)
    if found is not None:
        return found
    found = _run_probe(path)
    if found is not None:
        _remember(path, stamp, found)
    return found


def _shim_context(path: str) -> list[str]:
    """What a pyenv shim's choice depends on (PYENV_VERSION, the nearest .python-version, the
    global version file); nothing for an interpreter binary."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head.startswith(b"#!") or b"pyenv" not in head:
        return []
    found = ""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        try:
            found = (folder / ".python-version").read_text()
            break
        except OSError:
            continue
    root = pyenv_root()
    try:
        default = (root / "version").read_text() if root is not None else ""
    except OSError:
        default = ""
    return [os.environ.get("PYENV_VERSION", ""), found, default]


def _run_probe(path: str) -> Interpreter | None:
    try:
        res = subprocess.run(
            [path, "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            env={k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    try:
        info = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return Interpreter(
        path=Path(info["executable"] or path),
        version=info["version"],
        implementation=info["implementation"],
        platform=info["platform"],
    )


def probe(path: str | Path) -> Interpreter | None:
    """Run an interpreter to read what it is; None when it does not run (e.g. an inactive pyenv shim)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return _probe_cached(str(path), mtime)


def pyenv_root() -> Path | None:
    env = os.environ.get("PYENV_ROOT")
    if env and Path(env).is_dir():  # what `pyenv root` prints, without running its shell script
        return Path(env)
    exe = shutil.which("pyenv")
    if exe and Path(exe).resolve().is_relative_to((Path.home() / ".pyenv").resolve()) and not env:
        return Path.home() / ".pyenv"
    if exe:
        try:
            out = subprocess.run([exe, "root"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    env = os.environ.get("PYENV_ROOT")
    if env:
        return Path(env)
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def candidates(
    python_range: str,
    prefer: tuple[str, ...] | list[str] = (),
    *,
    search_path: str | None = None,
    pyenv: Path | None | bool = True,
) -> list[tuple[Path, str, str]]:
    """(path, version from its name, source) for every interpreter worth probing, best first."""
    found: list[tuple[Path, str, str]] = []
    path_env = os.environ.get("PATH", "") if search_path is None else search_path
    for minor in [f"2.{n}" for n in range(7, 8)] + [f"3.{n}" for n in range(0, 30)]:
        if not version_matches(minor + ".99", python_range) and not version_matches(minor + ".0", python_range):
            continue
        exe = shutil.which(f"python{minor}", path=path_env)
        if exe:
            found.append((Path(exe), minor, "PATH"))
    root = pyenv_root() if pyenv is True else (pyenv or None)
    if root is not None and (root / "versions").is_dir():
        for vdir in sorted((root / "versions").iterdir()):
            if not re.fullmatch(r"\d+\.\d+\.\d+", vdir.name) or not version_matches(vdir.name, python_range):
                continue
            exe_path = vdir / "bin" / "python"
            if exe_path.exists():
                found.append((exe_path, vdir.name, "pyenv"))

    def rank(item: tuple[Path, str, str]) -> tuple[int, tuple[int, ...], int, tuple[int, ...]]:
        _, version, source = item
        minor = ".".join(version.split(".")[:2])
        pref = list(prefer).index(minor) if minor in prefer else len(prefer)
        neg_minor = tuple(-n for n in _vtuple(minor))
        neg_full = tuple(-n for n in _vtuple(version))
        return (pref, neg_minor, 0 if source == "PATH" else 1, neg_full)

    return sorted(found, key=rank)


def find_interpreter(
    python_range: str,
    prefer: tuple[str, ...] | list[str] = (),
    python: str | Path | None = None,
    *,
    framework: str = "",
    search_path: str | None = None,
    pyenv: Path | None | bool = True,
) -> Interpreter:
    """The interpreter a runner's environment is built with; a BrokerError with the install command if none.

    `python` is a path or command name, or a version ("3.12", "3.12.1") to search for instead of the
    spec's preference."""
    if python is not None and re.fullmatch(r"\d+\.\d+(\.\d+)?", str(python)):
        wanted = str(python)
        narrowed = f"{python_range},=={wanted}" + (".*" if wanted.count(".") == 1 else "")
        minor = ".".join(wanted.split(".")[:2])
        if not version_matches(wanted + (".0" if wanted.count(".") == 1 else ""), python_range):
            raise BrokerError(
                f"Python {wanted} is outside this runner's range {python_range}",
                reference="env-python-unsupported",
                framework=framework,
                hint=install_hint(python_range, prefer),
            )
        return find_interpreter(narrowed, [minor], framework=framework, search_path=search_path, pyenv=pyenv)
    if python is not None:
        given = shutil.which(str(python)) or str(python)
        interp = probe(given)
        if interp is None:
            raise BrokerError(
                f"{python} is not a working Python interpreter",
                reference="env-python-not-runnable",
                framework=framework,
                hint="give the path of a python executable, e.g. --python ~/.pyenv/versions/3.11.7/bin/python",
            )
        if interp.implementation != "cpython" or not version_matches(interp.version, python_range):
            raise BrokerError(
                f"{python} is {interp.implementation} {interp.version}; this runner needs CPython {python_range}",
                reference="env-python-unsupported",
                framework=framework,
                hint=install_hint(python_range, prefer),
            )
        return Interpreter(interp.path, interp.version, interp.implementation, interp.platform, "--python")
    for path, _, source in candidates(python_range, prefer, search_path=search_path, pyenv=pyenv):
        interp = probe(path)
        if interp is not None and interp.implementation == "cpython" and version_matches(interp.version, python_range):
            return Interpreter(interp.path, interp.version, interp.implementation, interp.platform, source)
    raise BrokerError(
        f"no CPython {python_range} found on PATH or in pyenv",
        reference="env-python-missing",
        framework=framework,
        hint=install_hint(python_range, prefer),
    )


def wanted_minor(python_range: str, prefer: tuple[str, ...] | list[str] = ()) -> str:
    for minor in prefer:
        if version_matches(minor + ".0", python_range) or version_matches(minor + ".99", python_range):
            return minor
    for n in range(29, -1, -1):
        if version_matches(f"3.{n}.99", python_range):
            return f"3.{n}"
    return "3"


def install_hint(python_range: str, prefer: tuple[str, ...] | list[str] = ()) -> str:
    minor = wanted_minor(python_range, prefer)
    if shutil.which("pyenv") or os.environ.get("PYENV_ROOT"):
        return f"pyenv install {minor}   (or pass --python PATH)"
    if _vtuple(minor) < (3, 9):  # no current Debian or Ubuntu release packages these
        return f"pyenv install {minor} (https://github.com/pyenv/pyenv), or pass --python PATH to a CPython {minor}"
    return f"apt-get install -y python{minor}   (or: pyenv install {minor}; or pass --python PATH)"

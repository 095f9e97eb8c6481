"""What a framework's environment needs, checked one by one, each failure with the command that fixes it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import BrokerError
from . import installer, integrity, system
from .interpreters import find_interpreter
from .key import env_dirname, env_key, key_material
from .marker import read_marker
from .spec import load_spec


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | info
    detail: str
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


@dataclass
class DoctorReport:
    framework: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def hook_checks(spec: Any, interp: Any) -> list[tuple[str, str, str, str]]:
    """What a runner's setup hooks report with `doctor_checks(spec, interpreter)` (a wheel it builds
    and the packages that needs), as (status, name, detail, hint)."""
    from .hooks import load_hooks

    try:
        module = load_hooks(spec)
    except BrokerError as exc:
        return [("fail", "setup hooks", exc.message, exc.hint)]
    checks = getattr(module, "doctor_checks", None)
    return list(checks(spec, interp)) if checks is not None else []


def environment_check(framework: str, env_dir: Path, versions: dict[str, str]) -> Check:
    """Every installed file against the hashes recorded at build time (integrity `full` level)."""
    marker = read_marker(env_dir) or {}
    files = marker.get("files")
    problems = integrity.check(env_dir, files, "full")
    if problems:
        return Check(
            "environment",
            "fail",
            f"damaged at {env_dir}: " + integrity.summary(problems, limit=8),
            f"mmbroker env setup {framework} --force (rebuilds it)",
        )
    listed = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    where = f"at {env_dir}" + (f" ({listed})" if listed else "")
    if not isinstance(files, dict):
        return Check(
            "environment",
            "warn",
            f"valid {where}, but built before file hashes were recorded: only checked that its files exist",
            f"mmbroker env setup {framework} (records them)",
        )
    return Check("environment", "ok", f"valid {where}; {files.get('files', 0)} files match their sha256")


def doctor(framework: str, *, python: str | Path | None = None, runners_dir: Path | None = None) -> DoctorReport:
    from .store import list_envs  # store imports build, which imports the supervisor

    report = DoctorReport(framework)
    add = report.checks.append
    try:
        spec = load_spec(framework, runners_dir)
    except BrokerError as exc:
        add(Check("spec", "fail", str(exc), exc.hint))
        return report
    add(Check("spec", "ok", f"{len(spec.pins)} pinned packages, CPython {spec.python}"))

    interp = None
    try:
        interp = find_interpreter(spec.python, spec.prefer, python, framework=framework)
        add(Check("python", "ok", f"CPython {interp.version} at {interp.path} (from {interp.source})"))
    except BrokerError as exc:
        add(Check("python", "fail", exc.message, exc.hint))

    missing = system.missing_packages(spec.system_packages)
    if not spec.system_packages:
        add(Check("system packages", "ok", "none needed"))
    elif missing is None:
        add(
            Check(
                "system packages",
                "warn",
                "no dpkg-query here; cannot check: " + ", ".join(spec.system_packages),
                "install the equivalents of: " + " ".join(spec.system_packages),
            )
        )
    elif missing:
        add(Check("system packages", "fail", "missing: " + ", ".join(missing), system.apt_install_command(missing)))
    else:
        add(Check("system packages", "ok", "installed: " + ", ".join(spec.system_packages)))

    if interp is not None:
        for status, name, detail, hint in hook_checks(spec, interp):
            add(Check(name, status, detail, hint))

    uv = installer.find_uv()
    if uv is not None and interp is not None and installer.uv_for(interp) is None:
        add(Check("installer", "ok", f"python -m venv and pip (uv cannot target CPython {interp.minor})"))
    elif uv is not None:
        version = ""
        try:
            version = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
        add(Check("installer", "ok", f"{version or 'uv'} ({uv})"))
    else:
        add(
            Check(
                "installer",
                "warn",
                "uv not found: environments are made with virtualenv and pip (slower)",
                "pip install uv",
            )
        )

    sources = installer.pip_sources()
    parts = []
    if sources.find_links:
        parts.append("find-links " + " ".join(sources.find_links))
    if sources.index_url:
        parts.append("index-url " + sources.index_url)
    if sources.extra_index_urls:
        parts.append("extra-index-url " + " ".join(sources.extra_index_urls))
    add(Check("package sources", "info", "; ".join(parts) or "PyPI (no pip configuration)"))

    envs = [e for e in list_envs(runners_dir=runners_dir, sizes=False) if e.framework == framework]
    final: Path | None = None
    if interp is not None:
        key = env_key(key_material(spec, interp))
        final = paths.envs_dir() / env_dirname(framework, key)
        mine = [e for e in envs if e.path == final]
        if mine and mine[0].status in ("valid", "damaged"):
            add(environment_check(framework, final, mine[0].versions))
        elif mine:
            add(
                Check(
                    "environment",
                    "warn",
                    f"{mine[0].status} at {final}: {mine[0].note}",
                    f"mmbroker env setup {framework}",
                )
            )
        else:
            add(Check("environment", "warn", "not built yet", f"mmbroker env setup {framework}"))
    others = [e for e in envs if e.status != "valid" and e.path != final]
    if others:
        add(Check("old environments", "info", f"{len(others)} stale or incomplete", "mmbroker env prune"))
    return report

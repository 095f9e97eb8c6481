"""A runner's environment spec: `runners/<fw>/runner.toml` plus its exact-pinned `requirements.txt`.

runner.toml::

    framework = "onnx"
    python = ">=3.10,<3.14"        # CPython versions the runner supports
    prefer = ["3.11"]              # tried first, in order; then the newest matching
    system_packages = []           # Debian packages the framework needs at run time

    [install]                      # optional
    creator = "uv"                 # uv | virtualenv | venv (default: uv when available)
    pip_args = []                  # extra installer arguments
    only_binary = [":all:"]        # never build these from source
    env = { LD_LIBRARY_PATH = "{env}/lib" }   # runner variables; {env} is the env directory
    library_links = []             # shared libraries linked into {env}/mmbroker-libs

Keys this module does not know are kept in `RunnerSpec.extra`, so a later runner can add its own.
A runner that needs more than data (a wheel built from source, an old interpreter's quirks) adds
`runners/<fw>/setup_hooks.py` with `pre_install(ctx)` and/or `post_install(ctx)`; see `hooks`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import BrokerError

HOOKS_FILE = "setup_hooks.py"
CREATORS = ("uv", "virtualenv", "venv")

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"===?\s*(?P<version>[A-Za-z0-9_.!+-]+)\s*(?P<marker>;.*)?$"
)
# requirements.txt options that choose where packages come from; passed to the installer as-is.
_INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
}


@dataclass(frozen=True)
class Pin:
    name: str  # normalized (PEP 503): lower case, runs of -_. become -
    version: str
    line: str  # as written, without comment

    def __str__(self) -> str:
        return self.line


@dataclass(frozen=True)
class InstallOptions:
    creator: str = ""
    pip_args: tuple[str, ...] = ()
    only_binary: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    library_links: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "creator": self.creator,
            "pip_args": list(self.pip_args),
            "only_binary": list(self.only_binary),
            "env": dict(sorted(self.env.items())),
            "library_links": list(self.library_links),
            "extra": self.extra,
        }


@dataclass(frozen=True)
class RunnerSpec:
    framework: str
    runner_dir: Path
    python: str  # version range, e.g. ">=3.10,<3.14"
    prefer: tuple[str, ...] = ()
    system_packages: tuple[str, ...] = ()
    pins: tuple[Pin, ...] = ()
    index_options: tuple[tuple[str, str], ...] = ()  # (option, value) lines from requirements.txt
    install: InstallOptions = field(default_factory=InstallOptions)
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def requirements_path(self) -> Path:
        return self.runner_dir / "requirements.txt"

    @property
    def hooks_path(self) -> Path | None:
        p = self.runner_dir / HOOKS_FILE
        return p if p.is_file() else None

    def requirement_lines(self) -> list[str]:
        """Sorted `name==version` lines (normalized names), as they enter the env key."""
        return sorted(f"{p.name}=={p.version}" + _marker_of(p.line) for p in self.pins)

    def install_digest(self) -> str:
        """Hash of everything besides the pins that changes what gets installed."""
        hooks = self.hooks_path
        data = {
            "install": self.install.as_dict(),
            "index_options": [list(o) for o in self.index_options],
            "hooks": hashlib.sha256(hooks.read_bytes()).hexdigest() if hooks else "",
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _marker_of(line: str) -> str:
    return ";" + line.split(";", 1)[1].strip() if ";" in line else ""


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split_option(line: str) -> tuple[str, str]:
    if line.startswith("--"):
        m = re.match(r"^(--[A-Za-z-]+)(?:\s*=\s*|\s+)?(.*)$", line)
        assert m is not None
        return m[1], m[2].strip()
    return line[:2], line[2:].strip()


def _spec_error(message: str, file: Path, hint: str, reference: str = "env-spec-invalid") -> BrokerError:
    return BrokerError(message, reference=reference, file=str(file), hint=hint)


def parse_requirements(path: Path) -> tuple[tuple[Pin, ...], tuple[tuple[str, str], ...]]:
    """Exact pins and index options of a requirements file. Anything else is an error."""
    pins: list[Pin] = []
    options: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise _spec_error(f"cannot read the requirements: {exc}", path, "every runner needs a requirements.txt")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path.name}:{number}"
        if line.startswith("-"):
            opt, value = _split_option(line)
            if opt not in _INDEX_OPTIONS or not value:
                raise _spec_error(
                    f"{where}: option {line!r} is not allowed in a runner's requirements",
                    path,
                    "only exact pins and --index-url, --extra-index-url, --find-links, --only-binary, "
                    "--no-binary may appear; put installer flags in runner.toml [install] pip_args",
                    "env-requirement-option",
                )
            options.append((_INDEX_OPTIONS[opt], value))
            continue
        m = _PIN.match(line)
        if m is None or "*" in line:
            name = re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0] or line
            raise _spec_error(
                f"{where}: {line!r} is not an exact pin",
                path,
                f"pin one version, e.g. {name}==<version> (see `pip index versions {name}`)",
                "env-requirement-not-pinned",
            )
        name = normalize_name(m["name"])
        if name in seen and not m["marker"]:
            raise _spec_error(
                f"{where}: {m['name']} is pinned twice (first on line {seen[name]})",
                path,
                "keep one pin per package",
                "env-requirement-duplicate",
            )
        seen.setdefault(name, number)
        pins.append(Pin(name=name, version=m["version"], line=line))
    return tuple(pins), tuple(options)


def _str_list(data: dict[str, Any], key: str, file: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _spec_error(f"'{key}' must be a list of strings", file, f'write {key} = ["..."]')
    return tuple(value)


def load_spec(framework: str, runners_dir: Path | None = None) -> RunnerSpec:
    """Read `<runners_dir>/<framework>/runner.toml` and its requirements (default: the installed runners)."""
    root = runners_dir if runners_dir is not None else paths.runners_dir()
    rdir = root / framework
    toml_path = rdir / "runner.toml"
    if not toml_path.is_file():
        known = sorted(p.parent.name for p in root.glob("*/runner.toml"))
        raise BrokerError(
            f"unknown framework {framework!r}",
            reference="env-unknown-framework",
            hint="known frameworks: " + (", ".join(known) or "none"),
        )
    try:
        data = tomllib.loads(toml_path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _spec_error(f"cannot read the runner spec: {exc}", toml_path, "fix the TOML syntax")
    declared = data.get("framework", framework)
    if declared != framework:
        raise _spec_error(
            f"declares framework {declared!r} but lives in folder {framework!r}",
            toml_path,
            f'set framework = "{framework}"',
        )
    python = data.get("python", "")
    if not isinstance(python, str) or not python.strip():
        raise _spec_error("'python' (a version range) is missing", toml_path, 'add e.g. python = ">=3.10,<3.14"')
    install_data = data.get("install", {})
    if not isinstance(install_data, dict):
        raise _spec_error("[install] must be a table", toml_path, "see broker/envs/spec.py for its keys")
    creator = install_data.get("creator", "")
    if creator and creator not in CREATORS:
        raise _spec_error(f"[install] creator {creator!r} is unknown", toml_path, "use one of: " + ", ".join(CREATORS))
    env = install_data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise _spec_error("[install] env must map names to strings", toml_path, 'env = { NAME = "value" }')
    known_install = {"creator", "pip_args", "only_binary", "env", "library_links"}
    install = InstallOptions(
        creator=creator,
        pip_args=_str_list(install_data, "pip_args", toml_path),
        only_binary=_str_list(install_data, "only_binary", toml_path),
        env=dict(env),
        library_links=_str_list(install_data, "library_links", toml_path),
        extra={k: v for k, v in install_data.items() if k not in known_install},
    )
    pins, options = parse_requirements(rdir / "requirements.txt")
    top_keys = {"framework", "python", "prefer", "system_packages", "install", "description"}
    return RunnerSpec(
        framework=framework,
        runner_dir=rdir,
        python=python.strip(),
        prefer=_str_list(data, "prefer", toml_path),
        system_packages=_str_list(data, "system_packages", toml_path),
        pins=pins,
        index_options=options,
        install=install,
        description=str(data.get("description", "")),
        extra={k: v for k, v in data.items() if k not in top_keys},
    )


def known_frameworks(runners_dir: Path | None = None) -> list[str]:
    root = runners_dir if runners_dir is not None else paths.runners_dir()
    return sorted(p.parent.name for p in root.glob("*/runner.toml"))

"""Where mmbroker keeps its state: $MMBROKER_HOME, default ~/.cache/mmbroker."""

from __future__ import annotations

import os
from pathlib import Path

import runners


def home() -> Path:
    return Path(os.environ.get("MMBROKER_HOME") or Path.home() / ".cache" / "mmbroker").expanduser()


def envs_dir() -> Path:
    return home() / "envs"


def logs_dir() -> Path:
    return home() / "logs"


def runners_dir() -> Path:
    """The `runners` package folder (in the checkout, or in site-packages when installed)."""
    return Path(runners.__file__).resolve().parent


def runner_dir(framework: str) -> Path:
    return runners_dir() / framework


def known_frameworks() -> list[str]:
    """Frameworks with a runner (a runner.toml); tools' environments (`tool = true`: Netron) are not."""
    import tomllib

    def is_tool(toml: Path) -> bool:
        try:
            return bool(tomllib.loads(toml.read_text()).get("tool"))
        except (OSError, tomllib.TOMLDecodeError):
            return False

    return sorted(p.parent.name for p in runners_dir().glob("*/runner.toml") if not is_tool(p))

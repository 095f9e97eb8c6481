"""The marker file that, written last, says an environment directory is complete and valid."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MARKER = ".mmbroker-complete"
DESCRIBE = "describe.json"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_marker(env_dir: Path, data: dict[str, Any]) -> None:
    write_json_atomic(env_dir / MARKER, data)


def read_marker(env_dir: Path) -> dict[str, Any] | None:
    """The marker's content, or None when it is missing or unreadable (the build did not finish)."""
    try:
        data = json.loads((env_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") else None


def remove_marker(env_dir: Path) -> None:
    try:
        (env_dir / MARKER).unlink()
    except FileNotFoundError:
        pass

"""Headless Chromium (Debian's package) for tests of pages: installed with apt-get when missing and
the tests run as root, else the test skips saying so. Flags from the machine notes: no sandbox as
root, no background networking (the machine has no network), a fresh profile each time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure(*packages: str) -> None:
    """Install Debian packages (chromium, faketime) when their programs are missing."""
    missing = [p for p in packages if shutil.which({"faketime": "faketime"}.get(p, p)) is None]
    if not missing:
        return
    import os

    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{', '.join(missing)} not installed and not root: apt-get install {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    r = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if r.returncode != 0:
        pytest.skip(f"apt-get install {' '.join(missing)} failed: {r.stderr[-300:]}")


def chromium(url: str, profile: Path, *extra: str, faketime: str = "", timeout: float = 120) -> str:
    """Run headless Chromium on `url` with `extra` flags (--dump-dom, --screenshot=...); its stdout."""
    ensure("chromium", *(["faketime"] if faketime else []))
    cmd = ["chromium", *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *extra, url]
    if faketime:
        cmd = ["faketime", "-f", faketime, *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.stdout

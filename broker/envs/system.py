"""System (Debian) packages a runner needs, checked with dpkg-query."""

from __future__ import annotations

import os
import shutil
import subprocess


def dpkg_available() -> bool:
    return shutil.which("dpkg-query") is not None


def package_installed(name: str) -> bool:
    try:
        res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and "install ok installed" in res.stdout


def missing_packages(names: list[str] | tuple[str, ...]) -> list[str] | None:
    """The packages among `names` that are not installed; None when this system has no dpkg."""
    if not names:
        return []
    if not dpkg_available():
        return None
    return [n for n in names if not package_installed(n)]


def apt_install_command(names: list[str] | tuple[str, ...]) -> str:
    return "apt-get install -y " + " ".join(names)


def can_install() -> bool:
    """Whether this process may install Debian packages itself (root, apt-get present)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_argv(names: list[str] | tuple[str, ...]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *names]

"""Installing the Debian packages a runner needs (runner.toml `system_packages`, or a setup hook's
build packages): with apt-get when the broker runs as root, else an error with the exact command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import BrokerError
from . import system
from .installer import clean_environment, command_failed, run_streaming


def ensure_system_packages(
    framework: str,
    names: list[str] | tuple[str, ...],
    *,
    purpose: str = "to run",
    say: Callable[[str], None] = print,
    on_line: Callable[[str], None] | None = None,
    log_path: Path | None = None,
) -> list[str]:
    """Install the missing packages among `names`; returns what was installed.

    Raises BrokerError (reference env-system-packages) when packages are missing and this process
    cannot install them; on a system without dpkg nothing is checked (the runner's own check then
    reports what is missing)."""
    missing = system.missing_packages(list(names))
    if not missing:
        return []
    command = system.apt_install_command(missing)
    if not system.can_install():
        raise BrokerError(
            f"{framework} needs Debian packages {purpose} that are not installed: {', '.join(missing)}",
            reference="env-system-packages",
            framework=framework,
            hint=f"as root: {command}   (then run the command again)",
        )
    say(f"installing Debian packages {purpose} {framework} (running as root): {command}")
    env = clean_environment({"DEBIAN_FRONTEND": "noninteractive"})
    result = run_streaming(system.install_argv(missing), on_line=on_line, log_path=log_path, env=env)
    if result.returncode != 0:
        # A fresh machine's package lists may be missing or stale: refresh them once and retry.
        run_streaming(["apt-get", "update"], on_line=on_line, log_path=log_path, env=env)
        result = run_streaming(system.install_argv(missing), on_line=on_line, log_path=log_path, env=env)
    if result.returncode != 0:
        raise command_failed(
            f"installing Debian packages for {framework}",
            system.install_argv(missing),
            result,
            framework=framework,
            reference="env-system-packages",
            hint=f"run as root: {command}",
            log_path=log_path,
        )
    return missing

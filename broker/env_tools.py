"""Running a module of `runners/` as a plain program in a runner's environment (not as a gRPC
runner): assembling a downloaded Keras application, writing a TensorBoard graph log, serving
Netron. The child gets what a runner gets: the environment's python, `runners` on its path, the
environment's variables, its own process group registered with the watchdog."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rich.console import Console

from . import paths, tempdirs
from .errors import BrokerError
from .supervisor import child_environment
from .watchdog import WATCHDOG


@contextmanager
def tool_env(framework: str, console: Console | None = None) -> Iterator[tuple[Path, dict[str, str]]]:
    """(the environment's python, the child's variables), the environment built if missing."""
    from .envs import ensure_env

    handle = ensure_env(framework, console=console)
    folder = tempdirs.make("tool")
    try:
        code = folder / "code"
        code.mkdir()
        (code / "runners").symlink_to(paths.runners_dir(), target_is_directory=True)
        yield handle.python, child_environment(code, {"TMPDIR": str(folder), **handle.env_vars})
    finally:
        tempdirs.remove(folder)


@contextmanager
def tool_process(python: Path, env: dict[str, str], module: str, args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """`python -m runners.<module> ARGS` in its own process group, registered with the watchdog;
    stopped (terminate, then kill) when the block is left with it still running."""
    proc = subprocess.Popen([str(python), "-m", f"runners.{module}", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            start_new_session=True)  # fmt: skip
    WATCHDOG.add_group(proc.pid)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        WATCHDOG.forget_group(proc.pid)


def run_tool(
    framework: str, module: str, args: list[str], console: Console | None = None, what: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m runners.<module> ARGS` in `framework`'s environment to its end; its last
    stderr lines become the error when it fails."""
    with tool_env(framework, console) as (python, env), tool_process(python, env, module, args) as proc:
        out, err = proc.communicate()
    if proc.returncode != 0:
        tail = [line for line in err.strip().splitlines() if line.strip()][-3:]
        raise BrokerError(
            f"{what or module} failed in the {framework} environment: {' '.join(tail) or f'exit {proc.returncode}'}",
            reference="runner-crashed" if proc.returncode < 0 else "bad-input",
            framework=framework,
            hint="run again with --debug for the whole log",
        )
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

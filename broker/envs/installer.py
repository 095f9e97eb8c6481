"""Creating a virtual environment and installing a runner's pins into it.

uv is preferred for both (it is a broker dependency, found with `uv.find_uv_bin()`): `uv venv
--relocatable` makes an environment whose `bin/` scripts find their interpreter relative to
themselves, so a directory built under a temporary name can be renamed into place. Without uv,
`virtualenv` creates it (or `python -m venv` for Python < 3.7, which virtualenv > 20.21 cannot
target) and pip installs; for those old interpreters uv is never used (it cannot target them).
uv is told the package sources pip is configured with (`pip config
list`: find-links, index-url, extra-index-url), so that local wheels (e.g. a CPU build of torch in
a find-links folder) win over large downloads, and it picks the best match across all indexes
as pip does.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BrokerError
from ..watchdog import WATCHDOG
from .interpreters import Interpreter
from .spec import RunnerSpec

TAIL_LINES = 30
_STRIP = (
    "PYTHONHOME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "UV_PYTHON",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "__PYVENV_LAUNCHER__",
    "PIP_REQUIRE_VIRTUALENV",
)


@functools.lru_cache(maxsize=1)
def find_uv() -> str | None:
    """The uv executable, or None. MMBROKER_NO_UV=1 forces the virtualenv + pip path."""
    if os.environ.get("MMBROKER_NO_UV"):
        return None
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


UV_MIN_PYTHON = (3, 7)  # uv neither creates nor installs into environments of older interpreters


def uv_for(interpreter: Interpreter) -> str | None:
    """uv when it can serve this interpreter (>= 3.7), else None: venv + pip do the job."""
    return find_uv() if interpreter.version_tuple >= UV_MIN_PYTHON else None


@dataclass(frozen=True)
class PipSources:
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


def parse_pip_config(text: str) -> PipSources:
    """Package sources from `pip config list` output (`global.find-links='/opt/wheels'` lines)."""
    index_url = ""
    extra: list[str] = []
    links: list[str] = []
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        option = key.strip().rsplit(".", 1)[-1]
        try:
            values = shlex.split(raw.strip())
            value = values[0] if values else ""
        except ValueError:
            value = raw.strip().strip("'\"")
        items = value.split()
        if option == "index-url" and items:
            index_url = items[0]
        elif option == "extra-index-url":
            extra.extend(i for i in items if i not in extra)
        elif option == "find-links":
            links.extend(i for i in items if i not in links)
    return PipSources(index_url, tuple(extra), tuple(links))


@functools.lru_cache(maxsize=1)
def pip_sources() -> PipSources:
    """What pip on this machine is configured to install from (empty when pip is not there)."""
    commands = [[sys.executable, "-m", "pip", "config", "list"]]
    for name in ("pip3", "pip"):
        exe = shutil.which(name)
        if exe:
            commands.append([exe, "config", "list"])
    for cmd in commands:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if res.returncode == 0:
            return parse_pip_config(res.stdout)
    return PipSources()


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    env.update(extra or {})
    return env


@dataclass
class CommandResult:
    returncode: int
    tail: list[str] = field(default_factory=list)


def run_streaming(
    cmd: list[str],
    *,
    on_line: Callable[[str], None] | None = None,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run a command, passing each output line (stdout and stderr) to `on_line`; keep the last lines.

    The command leads its own process group, registered with the watchdog: an exception here
    (Ctrl-C, SIGTERM) kills the group at once, and so does the watchdog if the broker is killed;
    installers leave no orphan (uv's downloads and builds included)."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    log = open(log_path, "a") if log_path is not None else None
    try:
        if log is not None:
            log.write("$ " + shlex.join(cmd) + "\n")
            log.flush()
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                env=env if env is not None else clean_environment(),
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            return CommandResult(127, [f"cannot run {cmd[0]}: {exc}"])
        WATCHDOG.add_group(proc.pid)
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.rstrip()
                tail.append(line)
                if log is not None:
                    log.write(line + "\n")
                if on_line is not None:
                    on_line(line)
            code = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            WATCHDOG.forget_group(proc.pid)
        return CommandResult(code, list(tail))
    finally:
        if log is not None:
            log.close()


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the command and everything it started (its group; not yet waited for, so still ours)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def command_failed(
    what: str,
    cmd: list[str],
    result: CommandResult,
    *,
    framework: str,
    hint: str,
    reference: str,
    log_path: Path | None = None,
) -> BrokerError:
    tail = "\n".join(result.tail)
    where = f" (full log: {log_path})" if log_path else ""
    return BrokerError(
        f"{what} failed with exit status {result.returncode}{where}\n$ {shlex.join(cmd)}\n{tail}",
        reference=reference,
        framework=framework,
        hint=hint,
        context={"command": cmd, "tail": result.tail},
    )


def choose_creator(spec: RunnerSpec, interpreter: Interpreter, uv: str | None) -> str:
    wanted = spec.install.creator
    if wanted == "uv" and uv is None:
        wanted = ""
    if wanted:
        return wanted
    if uv is not None:
        return "uv"
    return "venv" if interpreter.version_tuple < (3, 7) else "virtualenv"


def venv_command(creator: str, interpreter: Interpreter, target: Path, uv: str | None) -> list[str]:
    if creator == "uv":
        assert uv is not None
        return [uv, "venv", "--relocatable", "--no-config", "--python", str(interpreter.path), str(target)]
    if creator == "virtualenv":
        return [
            sys.executable,
            "-m",
            "virtualenv",
            "--no-periodic-update",
            "--python",
            str(interpreter.path),
            str(target),
        ]
    return [str(interpreter.path), "-m", "venv", str(target)]


def install_command(
    spec: RunnerSpec,
    env_python: Path,
    requirements: Path,
    *,
    uv: str | None,
    find_links: tuple[str, ...] | list[str] = (),
    no_index: bool = False,
    extra_args: tuple[str, ...] | list[str] = (),
) -> list[str]:
    """The installer command for the pins. With uv, pip's configured sources are passed explicitly."""
    args: list[str] = []
    sources = pip_sources() if uv is not None else PipSources()
    if uv is not None and sources.index_url and not no_index:
        args += ["--index-url", sources.index_url]
    for opt, value in spec.index_options:
        if no_index and opt in ("--index-url", "--extra-index-url"):
            continue
        args += [opt, value]
    if uv is not None and not no_index:
        for url in sources.extra_index_urls:
            args += ["--extra-index-url", url]
    for link in list(find_links) + list(sources.find_links):
        args += ["--find-links", str(link)]
    if no_index:
        args.append("--no-index")
    for item in spec.install.only_binary:
        args += ["--only-binary", item]
    args += list(spec.install.pip_args) + list(extra_args)
    if uv is not None:
        return [
            uv,
            "pip",
            "install",
            "--python",
            str(env_python),
            "--compile-bytecode",
            "--index-strategy",
            "unsafe-best-match",
            "-r",
            str(requirements),
            *args,
        ]
    return [str(env_python), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements), *args]


def write_requirements(spec: RunnerSpec, target: Path) -> Path:
    """The pins alone (sources go on the command line, so --no-index can drop them)."""
    target.write_text("".join(p.line + "\n" for p in spec.pins))
    return target

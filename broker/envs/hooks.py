"""Optional per-runner setup hooks: `runners/<fw>/setup_hooks.py`.

A runner whose environment needs more than pins (a wheel built from source for Caffe, an old
interpreter's quirks for CNTK) defines either function, both taking a `HookContext`:

    def pre_install(ctx):   # after the venv exists, before the pins are installed
        ctx.install_args += ["--find-links", str(built_wheel_dir)]
    def post_install(ctx):  # after the pins, before the runner is verified
        ctx.run([str(ctx.python), "-m", "some_tool", "--setup"])
        ctx.env_vars["LD_LIBRARY_PATH"] = "{env}/lib/native"

A hook module may also define `doctor_checks(spec, interpreter)` returning (status, name,
detail, hint) tuples that `mmbroker env doctor` shows (e.g. a cached wheel, or the packages a
build still needs).

Runner variables use `{env}` for the environment directory, since the build happens under a
temporary name. A hook's file content is part of the environment key.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import BrokerError
from .installer import CommandResult, command_failed, run_streaming
from .interpreters import Interpreter
from .packages import ensure_system_packages
from .spec import RunnerSpec


@dataclass
class HookContext:
    spec: RunnerSpec
    env_dir: Path  # where the environment is being built (not its final place)
    python: Path  # the environment's bin/python
    interpreter: Interpreter  # the base interpreter
    env_vars: dict[str, str] = field(default_factory=dict)  # runner variables, `{env}` = env dir
    install_args: list[str] = field(default_factory=list)  # extra installer arguments
    log: Callable[[str], None] = print
    log_path: Path | None = None
    on_line: Callable[[str], None] | None = None
    find_links: tuple[str, ...] = ()  # the user's --find-links, honoured by install()
    no_index: bool = False  # the user's --no-index

    def install(self, requirements: list[str], extra_args: list[str] | tuple[str, ...] = ()) -> CommandResult:
        """Install more requirement lines into the environment with the same installer, sources and
        --find-links/--no-index as the pins (e.g. a package that must go in with --no-deps)."""
        from .installer import find_uv, install_command

        reqs = self.env_dir / "requirements-hook.txt"
        reqs.write_text("\n".join(requirements) + "\n")
        try:
            cmd = install_command(
                self.spec,
                self.python,
                reqs,
                uv=find_uv(),
                find_links=self.find_links,
                no_index=self.no_index,
                extra_args=list(self.install_args) + list(extra_args),
            )
            return self.run(cmd)
        finally:
            reqs.unlink(missing_ok=True)

    def ensure_system_packages(self, names: list[str] | tuple[str, ...], purpose: str = "to build") -> list[str]:
        """Install missing Debian packages as root, else raise with the exact apt-get command."""
        return ensure_system_packages(
            self.spec.framework, names, purpose=purpose, say=self.log, on_line=self.on_line, log_path=self.log_path
        )

    def run(self, cmd: list[str], **kwargs: Any) -> CommandResult:
        """Run a command with its output shown as progress; a failure raises BrokerError with its tail."""
        result = run_streaming([str(c) for c in cmd], on_line=self.on_line, log_path=self.log_path, **kwargs)
        if result.returncode != 0:
            raise command_failed(
                f"{self.spec.framework} setup hook command",
                [str(c) for c in cmd],
                result,
                framework=self.spec.framework,
                reference="env-hook-failed",
                hint=f"see {self.spec.hooks_path}",
                log_path=self.log_path,
            )
        return result


def load_hooks(spec: RunnerSpec) -> ModuleType | None:
    path = spec.hooks_path
    if path is None:
        return None
    module_spec = importlib.util.spec_from_file_location(f"mmbroker_setup_hooks_{spec.framework}", path)
    if module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise BrokerError(
            f"cannot load setup hooks: {exc}",
            reference="env-hook-failed",
            file=str(path),
            framework=spec.framework,
            hint="fix the hook module",
        )
    return module


def call_hook(module: ModuleType | None, name: str, ctx: HookContext) -> bool:
    func = getattr(module, name, None) if module is not None else None
    if func is None:
        return False
    try:
        func(ctx)
    except BrokerError:
        raise
    except Exception as exc:
        raise BrokerError(
            f"setup hook {name} failed: {type(exc).__name__}: {exc}",
            reference="env-hook-failed",
            file=str(ctx.spec.hooks_path),
            framework=ctx.spec.framework,
            hint="run with --debug for the traceback",
        ) from exc
    return True

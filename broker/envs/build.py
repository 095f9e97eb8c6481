"""Building one environment: create, install, verify, mark complete, rename into place.

Steps, all in `envs/.tmp-<fw>-<random>`: create the venv, run the `pre_install` hook, install the
pins, link libraries, run `post_install`, start the runner from the new `bin/python` and check
its `Describe` (framework and protocol), write `describe.json`, record the installed files'
hashes (integrity.py), then the marker `.mmbroker-complete` **last**, then rename the directory
to `envs/<fw>-<key12>`.

Interrupted builds leave nothing behind: installers run in their own process group, killed on
any exception (a signal included) and by the watchdog if the broker is killed; the temporary
directory is removed on failure, and by the watchdog too.

Rename, not build-in-place (measured): with `uv venv --relocatable` the renamed environment
works entirely — `bin/python` finds `pyvenv.cfg` next to itself, and console scripts use
relative shebangs; the runner is always started as `<env>/bin/python -m runners.<fw>`, which
also works from a renamed virtualenv/venv environment (their `bin/` scripts keep the temporary
path, but the broker never runs them). Renaming keeps a half-built environment out of the final
place entirely; the marker still decides validity, so a final directory without one (from an
older layout, or a copy) is treated as interrupted and rebuilt. The caller holds the framework's
lock (store.ensure_env).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import paths
from ..errors import BrokerError
from ..supervisor import RunnerProcess
from ..watchdog import WATCHDOG
from . import hooks, installer, integrity
from .interpreters import Interpreter
from .marker import DESCRIBE, write_json_atomic, write_marker
from .packages import ensure_system_packages
from .progress import BuildProgress
from .spec import RunnerSpec

LIBS_DIR = "mmbroker-libs"
REQUIREMENTS_FILE = "mmbroker-requirements.txt"


def tmp_prefix(framework: str) -> str:
    return f".tmp-{framework}-"


def trash_prefix(framework: str) -> str:
    return f".trash-{framework}-"


def expand_env_vars(templates: dict[str, str], env_dir: Path) -> dict[str, str]:
    return {k: v.replace("{env}", str(env_dir)) for k, v in templates.items()}


def env_var_templates(spec: RunnerSpec) -> dict[str, str]:
    out = dict(spec.install.env)
    if spec.install.library_links:
        libs = "{env}/" + LIBS_DIR
        out["LD_LIBRARY_PATH"] = libs + (":" + out["LD_LIBRARY_PATH"] if out.get("LD_LIBRARY_PATH") else "")
    return out


def create_venv(
    spec: RunnerSpec, interpreter: Interpreter, target: Path, creator: str, progress: BuildProgress, log_path: Path
) -> None:
    uv = installer.uv_for(interpreter)
    cmd = installer.venv_command(creator, interpreter, target, uv)
    result = installer.run_streaming(cmd, on_line=progress.update, log_path=log_path)
    if result.returncode != 0:
        hint = (
            f"apt-get install -y python{interpreter.minor}-venv"
            if creator == "venv"
            else f"check the interpreter: {interpreter.path} -c 'import sys; print(sys.version)'"
        )
        raise installer.command_failed(
            "creating the virtual environment",
            cmd,
            result,
            framework=spec.framework,
            hint=hint,
            reference="env-create-failed",
            log_path=log_path,
        )


def install_pins(
    spec: RunnerSpec,
    env_python: Path,
    target: Path,
    progress: BuildProgress,
    log_path: Path,
    *,
    find_links: tuple[str, ...],
    no_index: bool,
    extra_args: list[str],
    uv: str | None,
) -> str:
    reqs = installer.write_requirements(spec, target / REQUIREMENTS_FILE)
    cmd = installer.install_command(
        spec, env_python, reqs, uv=uv, find_links=find_links, no_index=no_index, extra_args=extra_args
    )
    result = installer.run_streaming(cmd, on_line=progress.update, log_path=log_path)
    if result.returncode != 0:
        if no_index or find_links:
            hint = "put the missing wheels into a --find-links folder: pip download -d DIR -r " + str(
                spec.requirements_path
            )
        else:
            hint = (
                f"retry with local wheels: mmbroker env setup {spec.framework} --find-links DIR; "
                "the lines above name the package that failed"
            )
        raise installer.command_failed(
            f"installing the {spec.framework} requirements",
            cmd,
            result,
            framework=spec.framework,
            hint=hint,
            reference="env-install-failed",
            log_path=log_path,
        )
    return "uv" if uv is not None else "pip"


def link_libraries(spec: RunnerSpec, target: Path) -> None:
    if not spec.install.library_links:
        return
    libs = target / LIBS_DIR
    libs.mkdir(exist_ok=True)
    for lib in spec.install.library_links:
        src = Path(lib)
        if not src.exists():
            raise BrokerError(
                f"library {lib} named in library_links does not exist",
                reference="env-library-missing",
                framework=spec.framework,
                hint="install the system package that provides it (mmbroker env doctor " + spec.framework + ")",
            )
        (libs / src.name).symlink_to(src)


def verify_env(spec: RunnerSpec, env_python: Path, env_vars: dict[str, str]) -> dict[str, Any]:
    """Start the runner from the environment and check its Describe; returns Describe as a dict."""
    from google.protobuf.json_format import MessageToDict

    from runners.common import rpc

    try:
        with RunnerProcess(spec.framework, env_python, env=env_vars) as runner:
            resp = runner.describe()
    except BrokerError as exc:
        raise BrokerError(
            f"the new {spec.framework} environment does not run its runner: {exc}",
            reference="env-verify-failed",
            framework=spec.framework,
            hint=exc.hint or f"mmbroker env doctor {spec.framework}",
        ) from exc
    if resp.framework != spec.framework or resp.protocol_version != rpc.PROTOCOL_VERSION:
        raise BrokerError(
            f"the runner in the new environment says it is {resp.framework!r} speaking protocol "
            f"{resp.protocol_version}; expected {spec.framework!r} and {rpc.PROTOCOL_VERSION}",
            reference="env-verify-failed",
            framework=spec.framework,
            hint=f"check runners/{spec.framework}/runner.py",
        )
    return dict(MessageToDict(resp, preserving_proto_field_name=True))


def new_tmp_dir(framework: str) -> Path:
    return paths.envs_dir() / (tmp_prefix(framework) + secrets.token_hex(4))


def move_into_place(tmp: Path, final: Path, framework: str) -> None:
    if final.exists() or final.is_symlink():
        trash = final.parent / (trash_prefix(framework) + secrets.token_hex(4))
        WATCHDOG.add_dir(trash)
        os.rename(final, trash)
        os.rename(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
        WATCHDOG.forget_dir(trash)
    else:
        os.rename(tmp, final)


def build_env(
    spec: RunnerSpec,
    interpreter: Interpreter,
    material: dict[str, Any],
    key: str,
    final: Path,
    *,
    find_links: tuple[str, ...] = (),
    no_index: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Build the environment for `key` and move it to `final`; returns the marker's content."""
    progress = BuildProgress(console)
    t0 = time.monotonic()
    tmp = new_tmp_dir(spec.framework)
    WATCHDOG.add_dir(tmp)
    paths.logs_dir().mkdir(parents=True, exist_ok=True)
    log_path = paths.logs_dir() / f"env-{spec.framework}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    uv = installer.uv_for(interpreter)
    creator = installer.choose_creator(spec, interpreter, uv)
    finished = False
    try:
        if spec.system_packages:
            with progress.phase("checking Debian packages"):
                ensure_system_packages(
                    spec.framework, spec.system_packages, say=progress.say, on_line=progress.update, log_path=log_path
                )
        with progress.phase(f"creating environment (python {interpreter.version}, {creator})"):
            create_venv(spec, interpreter, tmp, creator, progress, log_path)
        env_python = tmp / "bin" / "python"
        module = hooks.load_hooks(spec)
        ctx = hooks.HookContext(
            spec=spec,
            env_dir=tmp,
            python=env_python,
            interpreter=interpreter,
            env_vars=env_var_templates(spec),
            log=progress.say,
            log_path=log_path,
            on_line=progress.update,
            find_links=tuple(find_links),
            no_index=no_index,
        )
        if module is not None and hasattr(module, "pre_install"):
            with progress.phase("running pre_install hook"):
                hooks.call_hook(module, "pre_install", ctx)
        with progress.phase(f"installing {len(spec.pins)} packages"):
            installer_name = install_pins(
                spec,
                env_python,
                tmp,
                progress,
                log_path,
                find_links=tuple(find_links),
                no_index=no_index,
                extra_args=ctx.install_args,
                uv=uv,
            )
        link_libraries(spec, tmp)
        if module is not None and hasattr(module, "post_install"):
            with progress.phase("running post_install hook"):
                hooks.call_hook(module, "post_install", ctx)
        with progress.phase("verifying: starting the runner"):
            described = verify_env(spec, env_python, expand_env_vars(ctx.env_vars, tmp))
        write_json_atomic(tmp / DESCRIBE, described)
        with progress.phase("recording the installed files' hashes"):
            files = integrity.record_state(tmp)
        marker = {
            "key": key,
            "framework": spec.framework,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "material": material,
            "python": interpreter.version,
            "interpreter": str(interpreter.path),
            "versions": dict(described.get("versions", {})),
            "env_vars": ctx.env_vars,
            "creator": creator,
            "installer": installer_name,
            "build_seconds": round(time.monotonic() - t0, 1),
            "log": str(log_path),
            "files": files,
        }
        write_marker(tmp, marker)  # last: only now is the directory a complete environment
        move_into_place(tmp, final, spec.framework)
        finished = True
        return marker
    finally:
        if not finished:
            shutil.rmtree(tmp, ignore_errors=True)
        WATCHDOG.forget_dir(tmp)

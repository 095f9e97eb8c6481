"""`mmbroker env ...`: build, list, check and remove the per-framework environments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .. import envs
from ..errors import BrokerError
from .app import app, err_console, out_console

env_app = typer.Typer(
    help="Manage the per-framework Python environments the runners live in. Each framework gets its own "
    "pinned environment under $MMBROKER_HOME/envs (default ~/.cache/mmbroker/envs), keyed by interpreter, "
    "platform and pins; `convert` builds missing ones itself.",
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")


def _frameworks(names: list[str]) -> list[str]:
    known = envs.known_frameworks()
    if not names or "all" in names:
        return known
    for name in names:
        if name not in known:
            raise BrokerError(
                f"unknown framework {name!r}",
                reference="env-unknown-framework",
                hint="known frameworks: " + ", ".join(known),
            )
    return list(dict.fromkeys(names))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@env_app.command("setup")
def setup(
    frameworks: Annotated[list[str], typer.Argument(help="Frameworks to set up (e.g. onnx pytorch), or 'all'.")],
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="Build with this interpreter (a path, or a version such as 3.12) instead of the preferred one.",
        ),
    ] = None,
    find_links: Annotated[
        list[str] | None,
        typer.Option(
            "--find-links", help="Also install from wheels in this folder (repeatable); for offline installs."
        ),
    ] = None,
    no_index: Annotated[
        bool,
        typer.Option(
            "--no-index", help="Use no package index, only --find-links folders and pip's configured find-links."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when a valid environment exists.")] = False,
) -> None:
    """Build the environments of FRAMEWORKS, or check that they are there and intact.

    Quick when a valid environment exists (its installed files are checked for presence and size).
    Otherwise it says why it builds (none yet, what changed, damaged files, an interrupted build),
    shows progress on stderr, and verifies the new environment by starting its runner. Leftovers of
    interrupted builds are removed.
    """
    con = err_console()
    for fw in _frameworks(frameworks):
        handle = envs.ensure_env(
            fw,
            python=python,
            find_links=tuple(find_links or ()),
            no_index=no_index,
            force=force,
            check="quick",
            console=con,
        )
        if not handle.built:
            con.print(f"{fw} environment is up to date: {escape(str(handle.path))}", highlight=False)


@env_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per environment).")] = False,
) -> None:
    """List the environments with framework, key, python, versions, size and status.

    Status: valid; damaged (installed files missing or changed since the build: `env setup`
    repairs it); stale (pins, runner protocol or interpreter changed since the build); incomplete
    (a build was interrupted). "current" marks the one `convert` uses now.
    """
    infos = envs.list_envs()
    if as_json:
        typer.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    if not infos:
        err_console().print("no environments yet; build one with: mmbroker env setup FRAMEWORK")
        return
    table = Table(box=None, pad_edge=False)
    for col in ("framework", "key", "python", "versions", "size", "status"):
        table.add_column(col)
    for i in infos:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(i.versions.items()))
        status = i.status + (" (current)" if i.current else "") + (f": {i.note}" if i.note else "")
        table.add_row(i.framework, i.key[:12], i.python, escape(versions), _size(i.size_bytes), escape(status))
    out_console().print(table)


_MARK = {"ok": "[green]ok[/]  ", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]", "info": "[dim]info[/]"}


@env_app.command("doctor")
def doctor_(
    frameworks: Annotated[list[str] | None, typer.Argument(help="Frameworks to check (default: all).")] = None,
    python: Annotated[str | None, typer.Option("--python", help="Check with this interpreter.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check what the environments need, and say the command that fixes each problem.

    Per framework: a matching interpreter, system packages, the installer (uv),
    package sources from pip's configuration, and whether the environment is built and valid:
    every installed file is compared with the sha256 recorded when it was built, and what changed
    is named. Exits with status 1 when something needed is missing or damaged.
    """
    reports = [envs.doctor(fw, python=python) for fw in _frameworks(frameworks or [])]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        con = out_console()
        for r in reports:
            con.print(f"[bold]{r.framework}[/]", highlight=False)
            for c in r.checks:
                con.print(f"  {_MARK[c.status]} {c.name}: {escape(c.detail)}", highlight=False)
                if c.hint and c.status != "ok":
                    con.print(f"         fix: {escape(c.hint)}", highlight=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@env_app.command("remove")
def remove(
    target: Annotated[
        str,
        typer.Argument(
            help="A framework (removes all its environments) or a key prefix "
            "(at least 4 characters, as `env list` shows)."
        ),
    ] = "",
    all_envs: Annotated[
        bool, typer.Option("--all", help="Remove every environment (of TARGET's framework if given).")
    ] = False,
) -> None:
    """Remove environments by framework or key; they are rebuilt on next use."""
    if not target and not all_envs:
        raise BrokerError(
            "say what to remove",
            reference="env-remove-what",
            hint="mmbroker env remove FRAMEWORK, mmbroker env remove KEY, or mmbroker env remove --all",
        )
    con = err_console()
    for p in envs.remove_env(target, all_envs=all_envs):
        con.print(f"removed {escape(str(p))}", highlight=False)
        _stop_warm(p)


def _stop_warm(env_dir: Path) -> None:
    """The warm runners of a removed environment go with it (busy ones when their command ends)."""
    from .. import warm

    for info in warm.stop_runners(env_dir=env_dir):
        err_console().print(f"{info.framework} runner {info.pid} of it: {info.state}", markup=False)


@env_app.command("prune")
def prune() -> None:
    """Remove stale, damaged and incomplete environments (keeping the valid ones), leftovers of
    interrupted builds, lock files no process holds, and temporary folders of dead broker runs."""
    con = err_console()
    removed = envs.prune_envs()
    for p in removed:
        con.print(f"removed {escape(str(p))}", highlight=False)
        _stop_warm(p)
    if not removed:
        con.print("nothing to prune")


@env_app.command("path")
def path(
    framework: Annotated[str, typer.Argument(help="The framework.")],
    python: Annotated[str | None, typer.Option("--python", help="The env built with this interpreter.")] = None,
) -> None:
    """Print the directory of FRAMEWORK's current environment, for scripts.

    E.g. `$(mmbroker env path onnx)/bin/python`. Fails (status 1) when it is not built.
    """
    _frameworks([framework])
    handle = envs.find_env(framework, python=python)
    if handle is None:
        raise BrokerError(
            f"the {framework} environment is not built",
            reference="env-not-built",
            framework=framework,
            hint=f"mmbroker env setup {framework}",
        )
    typer.echo(str(handle.path))

"""`mmbroker runners`: the warm runners kept for the next command (broker/warm.py)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from .. import warm
from .app import app, err_console, out_console

runners_app = typer.Typer(
    help="List the warm runners that commands left running for the next command (framework, pid, memory, "
    "idle time), or stop them. Runners stay warm for MMBROKER_WARM_IDLE seconds (default 300) after their "
    "last call; MMBROKER_KEEP_WARM=0 or --cold keeps none.",
    invoke_without_command=True,
)
app.add_typer(runners_app, name="runners")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


@runners_app.callback()
def list_(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable list on stdout.")] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    found = warm.list_runners()
    if json_out:
        print(json.dumps([i.to_dict() for i in found], indent=2))
        return
    if not found:
        err_console().print(f"no warm runners (pool {warm.pool_root()})")
        return
    table = Table(box=None)
    for col in ("framework", "pid", "state", "memory", "idle", "environment"):
        table.add_column(col)
    for i in found:
        table.add_row(i.framework, str(i.pid), i.state, _mb(i.memory), f"{i.idle:.0f} s", i.env)
    out_console().print(table)


@runners_app.command("stop", help="Stop the warm runners (all, or one framework's); a busy one stops when its "
                                  "command ends.")  # fmt: skip
def stop(
    framework: Annotated[Optional[str], typer.Argument(help="Only this framework's runners.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable list on stdout.")] = False,
) -> None:
    done = warm.stop_runners(framework)
    if json_out:
        print(json.dumps([i.to_dict() for i in done], indent=2))
        return
    con = err_console()
    if not done:
        con.print("no warm runners to stop")
    for i in done:
        what = "stopped" if i.state == "stopped" else "busy: stops when its command ends"
        con.print(f"{i.framework} runner {i.pid}: {what}", markup=False)

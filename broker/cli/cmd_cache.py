"""`mmbroker cache`: what the conversion cache holds (broker/ircache.py), and clearing it."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from .. import ircache
from .app import app, err_console, out_console

cache_app = typer.Typer(
    help="Show what the conversion cache holds (the parsed IR, the code each target emitted from it and "
    "the source model's outputs on the check's inputs, kept so that converting the same model again, or to "
    "another target, skips that work), or clear it. It is $MMBROKER_HOME/ircache (MMBROKER_IR_CACHE_DIR), "
    "at most MMBROKER_IR_CACHE_MB (default 2048) MB, the least recently used entries going first; "
    "MMBROKER_IR_CACHE=0 or --cold neither reads nor writes it.",
    invoke_without_command=True,
)
app.add_typer(cache_app, name="cache")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 or n == 0 else f"{n / 1024:.0f} KB"


def _ago(stamp: float) -> str:
    s = max(0.0, time.time() - stamp)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.0f} {unit} ago"
    return f"{s:.0f} s ago"


@cache_app.callback()
def show(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout.")] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    folder = ircache.folder_path()
    found = ircache.contents(folder)
    kinds = {label: [e for e in found if e[0] == label] for _, label in reversed(ircache.KINDS)}
    total = sum(size for _, size, _ in found)
    if json_out:
        print(json.dumps({
            "folder": str(folder), "enabled": ircache.enabled(), "limit_bytes": ircache.limit_bytes(),
            "bytes": total, "entries": len(found),
            "kinds": {k: {"entries": len(v), "bytes": sum(e[1] for e in v)} for k, v in kinds.items()},
        }, indent=2))  # fmt: skip
        return
    state = "" if ircache.enabled() else " (off: MMBROKER_IR_CACHE=0)"
    out_console().print(f"conversion cache {folder}: {_mb(total)} of {_mb(ircache.limit_bytes())}{state}",
                        highlight=False, markup=False)  # fmt: skip
    if not found:
        err_console().print("  empty")
        return
    table = Table(box=None)
    for col in ("kept", "entries", "size", "last used"):
        table.add_column(col, justify="left" if col == "kept" else "right")
    for label, entries in kinds.items():
        if entries:
            table.add_row(label, str(len(entries)), _mb(sum(e[1] for e in entries)), _ago(max(e[2] for e in entries)))
    out_console().print(table)


_CLEAR = "Remove everything the cache holds. A conversion running meanwhile is not disturbed: it finds an entry " \
         "whole or parses again."  # fmt: skip


@cache_app.command("clear", help=_CLEAR)
def clear(json_out: Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")] = False) -> None:
    folder = ircache.folder_path()
    removed, size = ircache.clear(folder)
    if json_out:
        print(json.dumps({"folder": str(folder), "removed": removed, "bytes": size}))
        return
    err_console().print(f"removed {removed} entries ({_mb(size)}) from {folder}", highlight=False, markup=False)

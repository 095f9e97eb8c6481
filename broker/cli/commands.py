"""Registers the `cmd_*` modules' commands on the root app: only the module of the command being
run when it is known (importing them all costs every command 0.05 s: the batch, download and
env modules bring their own libraries), else all of them (`--help`, a mistyped command).
`MODULES` says which module registers which command; a unit test keeps it true."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

# command (or command group) -> the module that registers it
MODULES = {
    "batch": "cmd_batch",
    "cache": "cmd_cache",
    "convert": "cmd_convert",
    "toir": "cmd_convert",
    "tocode": "cmd_convert",
    "tomodel": "cmd_convert",
    "infer": "cmd_convert",
    "compare": "cmd_convert",
    "download": "cmd_download",
    "vis": "cmd_vis",
    "env": "cmd_env",
    "ir": "cmd_ir",
    "runner": "cmd_runner",
    "runners": "cmd_runners",
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` (the arguments after the program) runs: its first word that is not an
    option (the root's options take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def register(argv: Sequence[str] | None = None) -> None:
    """Import the module of the command `argv` runs, or every `cmd_*` module (`argv` None, or
    no command named that)."""
    module = MODULES.get(command_of(argv) or "") if argv is not None else None
    if module is not None:
        importlib.import_module(f"{__package__}.{module}")
        return
    pkg = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__package__}.{info.name}")

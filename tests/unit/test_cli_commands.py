"""The CLI imports only the module of the command it runs; `commands.MODULES` names, for every
command, the module that registers it."""

from __future__ import annotations

import json
import subprocess
import sys

from broker.cli import app, commands


def test_every_command_is_registered_by_the_module_named_for_it():
    commands.register()
    found = {c.name or c.callback.__name__: c.callback.__module__ for c in app.registered_commands}
    for group in app.registered_groups:
        (first, *_) = group.typer_instance.registered_commands
        found[group.name] = first.callback.__module__
    assert {name: f"broker.cli.{module}" for name, module in commands.MODULES.items()} == found


def _loaded(argv: list[str]) -> list[str]:
    loaded = "sorted(m for m in sys.modules if m.startswith('broker.cli.cmd_'))"
    register = f"from broker.cli import commands; commands.register({argv!r})"
    code = f"import json, sys; {register}; print(json.dumps({loaded}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_a_command_imports_its_module_alone_and_help_imports_all():
    assert _loaded(["--debug", "convert", "-sf", "onnx"]) == ["broker.cli.cmd_convert"]
    assert _loaded(["runners", "stop"]) == ["broker.cli.cmd_runners"]
    everything = _loaded(["--help"])
    assert everything == sorted(f"broker.cli.{m}" for m in set(commands.MODULES.values()))
    assert _loaded(["conver"]) == everything  # typer says what it knows


def test_the_command_is_the_first_word_not_an_option():
    assert commands.command_of(["--cold", "--debug", "tocode", "-df", "x"]) == "tocode"
    assert commands.command_of(["--help"]) is None

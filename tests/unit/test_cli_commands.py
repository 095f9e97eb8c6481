"""The CLI imports only the module of the command it runs; `commands.MODULES` names, for every
command, the module that registers it."""

from __future__ import annotations

import json
import os
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


def _run(argv: list[str], tmp_path, before: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys; {before}from broker.cli import run; sys.argv = ['mmbroker', *sys.argv[1:]]; run()"
    env = {**os.environ, "MMBROKER_WARM_DIR": str(tmp_path / "pool"), "NO_COLOR": "1"}
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)


def test_the_console_script_ends_with_what_was_said_and_the_exit_handlers_run(tmp_path):
    """`run` (the `mmbroker` script) skips the interpreter's teardown: what the command printed, its
    status and the atexit handlers (runners stopped, temporary folders removed) must survive that."""
    done = _run(["runners", "--json"], tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stderr
    done = _run(["runners"], tmp_path, "print('said', end=''); ")  # stdout a pipe: the text waits in its buffer
    assert done.returncode == 0 and done.stdout == "said" and "no warm runners" in done.stderr
    done = _run(["conver"], tmp_path)
    assert done.returncode == 2 and "No such command" in done.stderr
    flag = tmp_path / "atexit-ran"
    done = _run(["runners"], tmp_path, f"import atexit; atexit.register(lambda: open({str(flag)!r}, 'w').close()); ")
    assert done.returncode == 0 and flag.exists()

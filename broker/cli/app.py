"""Root of the CLI: global options, error rendering, and the sub-commands."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from typing import Annotated, Callable, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from .. import interrupts, tempdirs
from ..errors import BrokerError
from ..supervisor import stop_all

app = typer.Typer(
    name="mmbroker",
    help="Convert trained models between deep learning frameworks (PyTorch, ONNX, TensorFlow/Keras, "
    "MXNet, Caffe, CNTK, CoreML). Each framework runs in its own pinned environment, built on first "
    "use; every conversion is checked numerically.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

STATE = {"debug": False, "json": False, "cold": False}


def err_console() -> Console:
    return Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")), highlight=False, soft_wrap=True)


def out_console() -> Console:
    return Console(no_color=bool(os.environ.get("NO_COLOR")), highlight=False, soft_wrap=True)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and runner logs on errors.")] = False,
    cold: Annotated[
        bool,
        typer.Option("--cold", help="Start new runners and keep none warm afterwards (also MMBROKER_KEEP_WARM=0)."),
    ] = False,
) -> None:
    STATE["debug"] = debug
    STATE["cold"] = cold


def render_error(err: BrokerError) -> None:
    con = err_console()
    con.print(f"[bold red]error[/][dim]\\[{escape(err.reference)}][/]: {escape(str(err))}", highlight=False)
    for extra in err.nodes[1:] if len(err.nodes) > 1 else []:
        con.print(f"  - {extra}", markup=False)
    if err.hint:
        con.print(f"[cyan]hint[/]: {escape(err.hint)}", highlight=False)
    if STATE["debug"] and err.debug_detail:
        con.print(err.debug_detail, markup=False)
    if STATE["debug"]:
        con.print("".join(traceback.format_exception(err)), markup=False)


def _say_interrupted(signum: int) -> None:
    name = signal.Signals(signum).name
    try:
        err_console().print(f"interrupted by {name}: runners stopped, temporary files removed", markup=False)
    except OSError:  # SIGHUP: the terminal may be gone
        pass


def main(program: Callable[[], object] | None = None) -> None:
    """Run `mmbroker` (or another program of the package, such as MMdnn's `mmtoir`) with the
    errors rendered, signals unwinding as exceptions, and runners and temp folders cleaned up."""
    from . import commands

    commands.register(sys.argv[1:] if program is None else None)

    interrupts.install()
    try:
        (program or app)()  # standalone: usage errors print themselves and exit 2
    except BrokerError as err:
        render_error(err)
        sys.exit(err.exit_code)
    except interrupts.Interrupted as exc:  # unwinding has stopped the runners and removed the temp folders
        stop_all(grace=1.0)  # any runner no context manager stopped
        tempdirs.remove_all()
        _say_interrupted(exc.signum)
        sys.exit(exc.exit_code)
    except Exception as exc:  # an exception in our own code is a bug: one line, the traceback with --debug
        render_error(internal_bug(exc))
        sys.exit(1)
    finally:
        interrupts.uninstall()


def run(program: Callable[[], object] | None = None) -> NoReturn:
    """The console scripts' entry: `main`, then the process ends at once. The interpreter's own
    teardown (freeing every module and object one by one, which the system does anyway) takes a
    conversion 0.1 s. Everything an exit must do is done first: the atexit handlers (runners
    stopped, temporary folders removed, logs flushed) and the standard streams flushed. With a
    thread still running that is not a daemon (a worker that may be writing a file), the normal
    exit, which waits for it. `main` itself ends with SystemExit, for callers in this process."""
    try:
        main(program)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # SystemExit("message"): said on stderr, status 1
        sys.stderr.write(code + "\n")
        code = 1
    status = 0 if code is None else int(code) if isinstance(code, int) else 1
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    atexit._run_exitfuncs()
    os._exit(status)


def internal_bug(exc: Exception) -> BrokerError:
    """An unexpected exception as the `internal-bug` error that reports it."""
    text = " ".join(str(exc).split())
    err = BrokerError(
        f"mmbroker failed unexpectedly: {type(exc).__name__}{': ' + text[:300] if text else ''}",
        reference="internal-bug",
        hint="this is a bug in mmbroker, not a problem with the input: run again with --debug and report it "
        "with the traceback",
    )
    err.__cause__ = exc
    return err

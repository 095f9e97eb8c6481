"""`mmbroker runner serve`: a runner as a network service for brokers on other hosts (mutual TLS)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from runners.common.remote import is_loopback, parse_listen

from .. import paths
from ..errors import BrokerError
from ..frameworks import runner_name
from ..supervisor import child_environment
from .app import app, err_console
from .options import FindLinksOpt, NoIndexOpt, PythonOpt

runner_app = typer.Typer(help="Serve a runner to brokers on other hosts (mmbroker runner serve).")
app.add_typer(runner_app, name="runner")


def _code_dir() -> Path:
    """A folder whose only entry is the runners package, for the runner's PYTHONPATH (the broker's
    own package stays out of the runner's environment), kept per installation."""
    runners = paths.runners_dir()
    code = paths.home() / "serve" / hashlib.sha256(str(runners).encode()).hexdigest()[:12]
    code.mkdir(parents=True, exist_ok=True)
    link = code / "runners"
    if not link.is_symlink() or link.resolve() != runners:
        tmp = code / f".runners-{os.getpid()}"
        tmp.symlink_to(runners, target_is_directory=True)
        os.replace(tmp, link)
    return code


def _pem(option: str, value: Path | None) -> str:
    if value is None:
        raise BrokerError(
            f"{option} is required: a remote runner serves only over mutual TLS",
            reference="bad-option",
            hint="give --tls-cert, --tls-key and --client-ca (or --plaintext-loopback for a test on 127.0.0.1)",
        )
    if not value.is_file():
        raise BrokerError(
            f"{option}: file not found", reference="missing-file", file=str(value), hint="give the PEM file"
        )
    return str(value.resolve())


@runner_app.command(
    "serve",
    help="Run FRAMEWORK's runner as a network service (mutual TLS) until stopped with Ctrl-C or SIGTERM. "
    "Example: mmbroker runner serve onnx --listen 0.0.0.0:7443 --tls-cert server.pem --tls-key server.key "
    "--client-ca ca.pem; brokers then use --runner onnx=grpcs://HOST:7443.",
)
def serve(
    framework: Annotated[str, typer.Argument(help="The framework whose runner is served.")],
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on (port 0: any free port).")],
    tls_cert: Annotated[Optional[Path], typer.Option("--tls-cert", help="This server's certificate (PEM).")] = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help="This server's private key (PEM).")] = None,
    client_ca: Annotated[
        Optional[Path], typer.Option("--client-ca", help="Accept only clients whose certificate this CA signed.")
    ] = None,
    plaintext_loopback: Annotated[
        bool, typer.Option("--plaintext-loopback", help="No TLS, on a loopback address only: for tests.")
    ] = False,
    max_requests: Annotated[int, typer.Option("--max-requests", help="Requests served at once.", min=1)] = 4,
    max_request_mb: Annotated[
        int, typer.Option("--max-request-mb", help="Most data one request may upload, in MB.", min=1)
    ] = 8192,
    python: PythonOpt = None,
    find_links: FindLinksOpt = None,
    no_index: NoIndexOpt = False,
) -> None:
    fw = runner_name(framework)
    try:
        host, _ = parse_listen(listen)
    except ValueError as exc:
        raise BrokerError(str(exc), reference="bad-option", hint="e.g. --listen 0.0.0.0:7443") from None
    args = ["--listen", listen, "--max-requests", str(max_requests), "--max-request-mb", str(max_request_mb)]
    if plaintext_loopback:
        if not is_loopback(host):
            raise BrokerError(
                f"--plaintext-loopback serves only a loopback address, not {host}",
                reference="bad-option",
                hint="serve other hosts with --tls-cert, --tls-key and --client-ca",
            )
        args.append("--plaintext-loopback")
    else:
        args += [
            "--tls-cert",
            _pem("--tls-cert", tls_cert),
            "--tls-key",
            _pem("--tls-key", tls_key),
            "--client-ca",
            _pem("--client-ca", client_ca),
        ]
    from ..envs import ensure_env

    handle = ensure_env(fw, python=python, find_links=tuple(find_links or ()), no_index=no_index, console=err_console())
    env = child_environment(_code_dir(), dict(handle.env_vars))
    argv = [str(handle.python), "-m", f"runners.{fw}", *args]
    os.execve(argv[0], argv, env)  # the runner takes this process over: signals, exit status, memory

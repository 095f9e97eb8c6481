"""batch: a plan of models x targets converted on Ray, written as a matrix."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..outputs import check_folder
from .app import app, err_console, out_console
from .options import JsonOpt, PlaintextLoopbackOpt, RemoteRunnerOpt, TlsCaOpt, TlsCertOpt, TlsKeyOpt
from .render import print_json


@app.command(
    help="Convert every model of a plan (YAML or TOML: models with their source options x targets) to every "
    "target on Ray, one task per cell, and write the matrix (matrix.json, matrix.md, matrix.html) with each "
    "cell's parity report. Finished cells are not run again. A framework served by a remote runner (the plan's "
    "`runners`, or --runner with --tls-*) is used there by its cells. Example: mmbroker batch plan.yaml -o out/"
)
def batch(
    plan_file: Annotated[Path, typer.Argument(help="The plan: .yaml, .yml or .toml.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output folder (cells, matrix, reports).")],
    address: Annotated[
        Optional[str],
        typer.Option(
            "--address",
            envvar="RAY_ADDRESS",
            help="Join this Ray cluster (ray://HOST:10001, or HOST:6379) instead of starting Ray here.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Run every cell again, finished or not.")] = False,
    cpus: Annotated[
        Optional[int], typer.Option("--cpus", min=1, help="CPUs of the local Ray: cells run at once (default 2).")
    ] = None,
    json_out: JsonOpt = False,
    remote_runner: RemoteRunnerOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    plaintext_loopback: PlaintextLoopbackOpt = False,
) -> None:
    from ..batch.plan import read_plan
    from ..batch.ray_run import BatchOptions, import_ray, run_batch
    from ..remote import configured, parse_spec

    plan = read_plan(plan_file)
    # remote runners: $MMBROKER_HOME/remote.toml, then the plan's `runners`, then --runner
    given = [parse_spec(r, tls_ca, tls_cert, tls_key, plaintext_loopback) for r in remote_runner or []]
    plan.runners = {**configured(None), **plan.runners, **{spec.framework: spec for spec in given}}
    check_folder(out)
    import_ray()  # says how to install it before any work
    con = err_console()
    opts = BatchOptions(address=address, force=force, cpus=cpus, console=None if json_out else con)
    with contextlib.redirect_stdout(sys.stderr):  # what Ray prints (a worker that died) is not data
        records = run_batch(plan, out, opts)
    if opts.counts.get("skipped"):
        con.print(f"{opts.counts['skipped']} finished cells skipped (--force runs them again)", highlight=False)
    con.print(f"matrix: {out / 'matrix.html'}  {out / 'matrix.md'}  {out / 'matrix.json'}", highlight=False)
    if json_out:
        import json

        print_json(json.loads((out / "matrix.json").read_text())["cells"])
    else:
        from ..batch.matrix import summary

        console = out_console()
        for r in records:
            console.print(f"{r['model']} -> {r['target']}: {summary(r)}", highlight=False)

"""`mmbroker vis`: a model in the pinned Netron, or a self-contained HTML page of its IR; and MMdnn's
`mmvismeta X.ckpt.meta LOGDIR` (a TensorBoard graph log)."""

from __future__ import annotations

import argparse
import os
import webbrowser
from pathlib import Path
from typing import Annotated, Optional

import typer

from runners.common.tensors import atomic_write

from ..env_tools import run_tool, tool_env, tool_process
from ..errors import BrokerError
from ..frameworks import parse_model_ref
from ..ir import load_ir
from ..outputs import check_output, set_default_mode
from ..pipeline import Session
from .app import STATE, app, err_console, out_console
from .options import CaffePhaseOpt, ClassOpt, DstNodeOpt, InputShapeOpt, TrustOpt


def _is_ir(path: str) -> bool:
    return path.endswith(".pb") and Path(path).with_suffix(".npz").exists()


def _ir_model(
    s: Session, model: str, shapes: list[str] | None, dst_node: list[str] | None, trust: bool, options: dict[str, str]
):
    """The IR of MODEL: read as it is (IR .pb, .onnx), or parsed by its framework's runner."""
    from ..pipeline import InputShape

    if _is_ir(model) or model.endswith(".onnx"):
        return load_ir(Path(model))
    fw, files = parse_model_ref(model)
    ir = s.toir(
        fw,
        files,
        inputs=[InputShape.parse(t) for t in shapes or []],
        outputs=dst_node,
        trust_model=trust,
        options=options,
    )
    return load_ir(ir.graph, ir.weights)


def write_html(
    model: str,
    out: Path,
    report_path: Path | None,
    shapes: list[str] | None,
    dst_node: list[str] | None,
    trust: bool,
    options: dict[str, str],
) -> Path:
    from ..vis_page import read_layers_report, render

    check_output(out)
    report = read_layers_report(report_path) if report_path else None
    with Session(console=err_console()) as s:
        ir = _ir_model(s, model, shapes, dst_node, trust, options)
    page = render(ir, Path(model.split(",")[0].split(":")[-1]).name, report)
    atomic_write(str(out), lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    set_default_mode(out)
    return out


def serve_netron(model: str, port: int, browser: bool) -> None:
    """Serve MODEL in the pinned Netron until Ctrl-C; an IR .pb is served as the ONNX model it is."""
    con = err_console()
    path = Path(model)
    if not path.exists() and ("," in model or ":" in model):  # [framework:]file[,file...]: Netron opens the first
        path = Path(parse_model_ref(model)[1][0])
    if not path.exists():
        raise BrokerError("model not found", reference="missing-file", file=str(path))
    with tool_env("netron", con) as (python, env):
        if _is_ir(model):  # the IR graph keeps no weight data: serve graph and weights together as .onnx
            import onnx

            onnx_path = Path(env["TMPDIR"]) / (path.stem + ".onnx")
            onnx.save(load_ir(path), str(onnx_path))
            path = onnx_path
        args = [str(path.resolve()), "--port", str(port), "--parent-pid", str(os.getpid())]
        with tool_process(python, env, "netron.serve", args) as proc:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.startswith("MMBROKER-NETRON|"):
                err = proc.stderr.read() if proc.stderr else ""
                raise BrokerError(
                    f"Netron did not start: {' '.join(err.strip().splitlines()[-2:]) or line}",
                    reference="runner-crashed",
                    framework="netron",
                    hint="mmbroker env doctor netron",
                )
            url = line.split("|", 1)[1]
            out_console().print(url, highlight=False)
            con.print(f"serving {path.name} in Netron at {url} (offline); Ctrl-C stops it", highlight=False)
            if browser:
                webbrowser.open(url)
            proc.wait()


@app.command(
    help="Show a model: by default in Netron (pinned in its own environment, served on 127.0.0.1, offline; "
    "Ctrl-C stops it); with --html, a self-contained page drawn from the IR (op, attributes, output shapes, "
    "parameters of every node), coloured by divergence with --layers-report. Any format mmbroker reads, and IR .pb. "
    "Example: mmbroker vis model.onnx --html model.html"
)
def vis(
    model: Annotated[str, typer.Argument(help="[framework:]file[,file...], an IR .pb, or any model file")],
    html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the page here instead of serving.")] = None,
    layers_report: Annotated[
        Optional[Path],
        typer.Option("--layers-report", help="JSON of `mmbroker compare A B --layers --json`: colour by divergence."),
    ] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a web browser on the URL.")] = True,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (default: a free one).")] = 0,
    input_shape: InputShapeOpt = None,
    dst_node: DstNodeOpt = None,
    trust_model: TrustOpt = False,
    class_name: ClassOpt = None,
    caffe_phase: CaffePhaseOpt = None,
) -> None:
    from .cmd_convert import parse_options

    if html_out is None and layers_report is not None:
        raise BrokerError("--layers-report colours the --html page", reference="bad-option", hint="add --html out.html")
    if html_out is not None:
        out = write_html(
            model, html_out, layers_report, input_shape, dst_node, trust_model, parse_options(class_name, caffe_phase)
        )
        out_console().print(str(out), highlight=False)
        return
    serve_netron(model, port, browser)


def mmvismeta_program(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="mmvismeta",
        description="Write a TensorBoard graph log of a TF1 checkpoint's "
        "graph (MMdnn's mmvismeta), to find its output node. Then: tensorboard --logdir LOGDIR",
    )
    p.add_argument("meta", help="The checkpoint's graph, X.ckpt.meta.")
    p.add_argument("logdir", help="Folder for the TensorBoard event file.")
    p.add_argument("--debug", action="store_true", help="Show tracebacks on errors.")
    args = p.parse_args(argv)
    STATE["debug"] = args.debug
    meta = Path(args.meta)
    if not meta.is_file():
        raise BrokerError(
            "graph file not found",
            reference="missing-file",
            file=str(meta),
            hint="give the .meta file of a TF1 checkpoint",
        )
    logdir = Path(args.logdir).resolve()
    done = run_tool(
        "tensorflow",
        "tensorflow.vis_meta",
        [str(meta.resolve()), str(logdir)],
        err_console(),
        what=f"reading {meta.name}",
    )
    out_console().print(done.stdout.strip(), highlight=False)
    err_console().print(f"view it with: tensorboard --logdir {logdir}", highlight=False)

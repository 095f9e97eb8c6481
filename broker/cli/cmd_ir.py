"""`mmbroker ir ...`: look at and export IR files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import onnx
import typer

from runners.common.tensors import atomic_write

from ..errors import BrokerError
from ..ir import load_ir, summarize
from ..ir.passes import count_transposes
from ..ir.summary import render
from ..ir.validate import validate
from ..outputs import check_output
from .app import app, out_console
from .options import JsonOpt
from .render import print_json

ir_app = typer.Typer(
    help="Inspect, validate and export IR files (<name>.pb graph + <name>.npz weights).", no_args_is_help=True
)
app.add_typer(ir_app, name="ir")


@ir_app.command(
    help="Summarise an IR graph (.pb with its .npz) or an .onnx file: inputs, outputs, ops, "
    "parameters, source metadata."
)
def info(
    path: Annotated[Path, typer.Argument(help="IR .pb (weights .npz beside it) or .onnx file.")],
    json_out: JsonOpt = False,
) -> None:
    model = load_ir(path)
    summary = summarize(model)
    summary["transposes"] = count_transposes(model)
    if json_out:
        print_json(summary)
    else:
        out_console().print(render(summary), highlight=False, markup=False)


@ir_app.command(help="Check an IR graph with the ONNX checker and shape inference.")
def check(path: Annotated[Path, typer.Argument(help="IR .pb or .onnx file.")]) -> None:
    validate(load_ir(path), where=str(path))
    out_console().print(f"{path}: valid", highlight=False)


@ir_app.command("export-onnx", help="Join an IR graph and its weights into one standalone .onnx file.")
def export_onnx(
    path: Annotated[Path, typer.Argument(help="IR .pb (weights .npz beside it).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.")],
    weights: Annotated[
        Optional[Path], typer.Option("--weights", "-w", help="IR weights, default beside the graph.")
    ] = None,
) -> None:
    if output.suffix != ".onnx":
        raise BrokerError("the output must end in .onnx", reference="bad-option", file=str(output))
    check_output(output)
    model = load_ir(path, weights)
    big = sum(len(i.raw_data) for i in model.graph.initializer) >= 2**31 - 1

    def write(tmp: str) -> None:
        if big:
            onnx.save_model(model, tmp, save_as_external_data=True, location=output.name + ".data")
        else:
            onnx.save_model(model, tmp)

    atomic_write(str(output), write)
    out_console().print(str(output), highlight=False)

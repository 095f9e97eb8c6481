"""`mmbroker download` (and MMdnn's `mmdownload`): list the catalogue, fetch a model's files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .. import catalogue
from ..catalogue import Entry
from ..catalogue.fetch import cache_dir, fetch_file, place
from ..catalogue.preprocess import record
from ..env_tools import run_tool
from .app import STATE, app, err_console, out_console
from .options import JsonOpt
from .render import print_json

MirrorOpt = Annotated[
    Optional[str],
    typer.Option("--mirror", help="Fetch the same file names from this folder or URL instead (air-gapped sites)."),
]


def _size(f: catalogue.ModelFile) -> str:
    if f.size:
        return f"{f.size / 1e6:.1f} MB"
    return f"{f.size_mb:.1f} MB" if f.size_mb else "?"


def list_entries(framework: str | None, json_out: bool) -> None:
    entries = catalogue.for_framework(catalogue.load(), framework)
    if json_out:
        print_json([e.to_dict() for e in entries])
        return
    table = Table(title="pretrained models (mmbroker download -n NAME -o DIR)", title_justify="left")
    for col in ("framework", "name", "input", "size", "digest", "description"):
        table.add_column(col, no_wrap=col != "description")
    for e in entries:
        table.add_row(
            e.framework,
            e.name,
            "x".join(map(str, e.input)),
            " + ".join(_size(f) for f in e.files),
            ", ".join(sorted({f.verification() for f in e.files})),
            escape(e.description),
        )
    out_console().print(table)


def download(entry: Entry, out_dir: Path, mirror: str | None) -> list[dict[str, Any]]:
    """Fetch the entry's files into the cache, put them (or what is assembled from them) in
    `out_dir`; returns what was written, with how each file was obtained."""
    con = err_console()
    folder = cache_dir(entry)
    fetched = []
    for f in entry.files:
        path, how = fetch_file(f, folder, mirror, con)
        con.print(f"{f.name}: {how}" + ("" if f.digest else " (the publisher states no digest)"), highlight=False)
        fetched.append((f, path, how))
    written: list[dict[str, Any]] = []
    if entry.assemble:
        out = out_dir / entry.assemble["output"]
        out_dir.mkdir(parents=True, exist_ok=True)
        weights = str(fetched[0][1])
        module = f"{entry.assemble['runner']}.assemble"
        run_tool(
            entry.assemble["runner"],
            module,
            [entry.assemble["application"], weights, str(out.resolve())],
            con,
            what=f"building {entry.name} from its weights",
        )
        written.append({"file": str(out), "from": [str(p) for _, p, _ in fetched], "how": "assembled"})
    else:
        for f, path, how in fetched:
            target = place(path, out_dir, f.name)
            written.append({"file": str(target), "how": how, "verification": f.verification()})
    record([Path(w["file"]) for w in written], entry.key, entry.preprocessing)
    return written


def run_download(framework: str | None, name: str | None, out_dir: Path, mirror: str | None, json_out: bool) -> None:
    if not name:
        list_entries(framework, json_out)
        return
    entry = catalogue.find(catalogue.load(), name, framework)
    written = download(entry, out_dir, mirror)
    if json_out:
        print_json({"entry": entry.to_dict(), "written": written})
        return
    for w in written:
        out_console().print(f"{entry.framework} model {entry.name} is saved in [{w['file']}]", markup=False)
    if entry.note:
        err_console().print(f"note: {entry.note}", highlight=False)


@app.command(
    "download",
    help="List the catalogue of pretrained models, or download one: its files come from the publisher "
    "(or --mirror), are cached under $MMBROKER_HOME/downloads, resumed when interrupted, and checked against "
    "the digest the publisher states. Example: mmbroker download -f keras -n inception_v3 -o .",
)
def download_cmd(
    framework: Annotated[Optional[str], typer.Option("--framework", "-f", help="Only this framework.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="The model to download.")] = None,
    out_dir: Annotated[Path, typer.Option("--output", "-o", "--path", "-p", help="Folder to put it in.")] = Path("."),
    mirror: MirrorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    run_download(framework, name, out_dir, mirror, json_out)


def mmdownload_program(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="mmdownload",
        description="Download pretrained models (MMdnn's mmdownload). "
        "Without -n, lists the catalogue. Example: mmdownload -f keras -n inception_v3",
    )
    p.add_argument("--framework", "-f", help="Framework (keras, tensorflow, pytorch, mxnet, caffe, onnx, darknet).")
    p.add_argument("--network", "-n", help="The model to download.")
    p.add_argument("--path", "-p", "-o", default=".", help="Folder to put it in (default: the current one).")
    p.add_argument("--mirror", help="Fetch the same file names from this folder or URL instead.")
    p.add_argument("--json", action="store_true", help="Print machine-readable JSON on stdout.")
    p.add_argument("--debug", action="store_true", help="Show tracebacks on errors.")
    args = p.parse_args(argv)
    STATE["debug"] = args.debug
    run_download(args.framework, args.network, Path(args.path), args.mirror, args.json)

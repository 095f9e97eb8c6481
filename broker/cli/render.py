"""Printing results: tables for people (stdout), JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..layers import LayerReport
from ..parity import ParityReport
from .app import out_console


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def parity_table(report: ParityReport) -> Table:
    table = Table(
        title=f"parity: {report.candidate_engine}  vs  reference {report.reference_engine}", title_justify="left"
    )
    for col in ("output", "shape", "max abs err", "max rel err", "mismatched", "result"):
        table.add_column(col, justify="right" if "err" in col or col == "mismatched" else "left")
    for o in report.outputs:
        table.add_row(
            o.name if o.name == o.reference_name else f"{o.name} ~ {o.reference_name}",
            "x".join(map(str, o.shape)),
            f"{o.max_abs:.3g}",
            f"{o.max_rel:.3g}",
            f"{o.mismatched}/{o.total}",
            (f"[green]pass[/] {escape(o.note)}" if o.passed else f"[red]FAIL[/] {escape(o.note)}").rstrip(),
        )
    table.caption = f"pass when |a-b| <= {report.atol:g} + {report.rtol:g}*|ref| element-wise"
    return table


def chosen_dims_lines(inputs: list[dict[str, Any]]) -> list[str]:
    """`x[2] = 224 (default image size of a 4-D input)` for every free dimension given a value."""
    return [f"{i['name']}[{c['axis']}] = {c['value']} ({c['reason']})" for i in inputs for c in i.get("chosen", [])]


def print_parity(report: ParityReport) -> None:
    con = out_console()
    con.print(parity_table(report))
    for line in chosen_dims_lines(report.inputs):
        con.print(f"free dimension {line}", highlight=False)
    for other in report.other_sizes:  # the same check with the free dimensions at their second values
        sizes = ", ".join(f"{i['name']} {'x'.join(map(str, i['shape']))}" for i in other.inputs)
        table = parity_table(other)
        table.title = f"{table.title}, again at {sizes}"
        con.print(table)
        for line in chosen_dims_lines(other.inputs):
            con.print(f"free dimension {line}", highlight=False)
    if report.fixed:
        con.print(f"checked at one size only: {report.fixed}", highlight=False)
    if report.passed:
        con.print("[bold green]parity: PASS[/]")
    else:
        con.print("[bold red]parity: FAIL[/] — the converted model does not compute what the original computes")


def print_layers(layers: LayerReport) -> None:
    con = out_console()
    first = layers.first_divergent
    con.print(f"layer-wise: {len(layers.rows)} IR values compared ({layers.not_compared} reported by one side only); "
              f"reference values from {layers.reference_values}", highlight=False)  # fmt: skip
    if first is None:
        con.print("[bold green]layer-wise: every compared value within tolerance[/]")
        return
    attrs = ", ".join(f"{k}={v}" for k, v in first.attributes.items())
    con.print(f"[bold red]first divergent IR value[/] {first.value!r}: node {first.node!r} ({first.op}"
              f"{'; ' + attrs if attrs else ''}), max abs err {first.max_abs:.3g}, max rel err {first.max_rel:.3g}, "
              f"{first.mismatched}/{first.total} elements out of tolerance", highlight=False)  # fmt: skip

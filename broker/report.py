"""Verification reports as HTML (with inline SVG plots) or Markdown: the parity table, an error
histogram per output, the inputs used, and for layer-wise runs the per-node error curve."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from runners.common.tensors import atomic_write

from .errors import BrokerError
from .layers import LayerReport
from .parity import ParityReport


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3g}"


def _histogram_svg(hist: list[tuple[float, int]], width: int = 420, height: int = 140) -> str:
    if not hist:
        return ""
    top = max(c for _, c in hist) or 1
    bar = width / len(hist)
    parts = [f'<svg width="{width}" height="{height + 30}" role="img" aria-label="error histogram">']
    for i, (edge, count) in enumerate(hist):
        h = height * count / top
        label = "0" if edge == 0 else ("&gt;1" if math.isinf(edge) else f"1e{int(round(math.log10(edge)))}")
        parts.append(
            f'<rect x="{i * bar + 2:.1f}" y="{height - h:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" fill="#4a7">'
            f"<title>|a-b| &lt;= {label}: {count}</title></rect>"
            f'<text x="{i * bar + bar / 2:.1f}" y="{height + 14}" font-size="9" text-anchor="middle">{label}</text>'
        )
    parts.append(f'<text x="0" y="{height + 28}" font-size="10">|a-b| per element, upper edge of each decade</text>')
    parts.append("</svg>")
    return "".join(parts)


def _curve_svg(layers: LayerReport, width: int = 720, height: int = 220) -> str:
    rows = layers.rows
    if not rows:
        return ""
    ys = [math.log10(max(r.max_abs, 1e-12)) if not math.isinf(r.max_abs) else 2.0 for r in rows]
    lo, hi = min(min(ys), -12.0), max(max(ys), 0.0)
    n = max(len(rows) - 1, 1)

    def y(v: float) -> float:
        return height - (v - lo) / (hi - lo) * height

    pts = " ".join(f"{i / n * width:.1f},{y(v):.1f}" for i, v in enumerate(ys))
    tol = y(math.log10(layers.atol))
    parts = [f'<svg width="{width}" height="{height + 20}" role="img" aria-label="per-node error">',
             f'<line x1="0" x2="{width}" y1="{tol:.1f}" y2="{tol:.1f}" stroke="#c33" stroke-dasharray="4"/>',
             f'<polyline points="{pts}" fill="none" stroke="#246" stroke-width="1.5"/>']  # fmt: skip
    first = layers.first_divergent
    if first is not None:
        i = rows.index(first)
        parts.append(f'<circle cx="{i / n * width:.1f}" cy="{y(ys[i]):.1f}" r="4" fill="#c33">'
                     f"<title>{html.escape(first.node)} ({first.op})</title></circle>")  # fmt: skip
    parts.append(f'<text x="0" y="{height + 16}" font-size="10">log10 max |a-b| per IR value, in graph order; '
                 f"dashed: atol {layers.atol:g}</text></svg>")  # fmt: skip
    return "".join(parts)


def _chosen(i: dict[str, Any]) -> str:
    return "; ".join(f"dim {c['axis']} = {c['value']} ({c['reason']})" for c in i.get("chosen", [])) or "-"


def _inputs_rows(inputs: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(i["name"]), "x".join(map(str, i["shape"])), str(i["dtype"]), str(i["source"]), _chosen(i),
             f"{i['mean']:.4g}", f"{i['std']:.4g}"] for i in inputs]  # fmt: skip


def _sizes(inputs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{i['name']} {'x'.join(map(str, i['shape']))}" for i in inputs)


def _parity_markdown(parity: ParityReport) -> list[str]:
    lines = [f"Reference: {parity.reference_engine}. Candidate: {parity.candidate_engine}. "
             f"Pass when |a-b| <= {parity.atol:g} + {parity.rtol:g}*|ref| element-wise: "
             f"**{'PASS' if parity.passed else 'FAIL'}**", "",
             "| output | shape | max abs err | max rel err | mismatched | result |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for o in parity.outputs:
        result = f"{'pass' if o.passed else 'FAIL'} {o.note}".strip()
        lines.append(f"| {o.name} | {'x'.join(map(str, o.shape))} | {_fmt(o.max_abs)} | {_fmt(o.max_rel)} | "
                     f"{o.mismatched}/{o.total} | {result} |")  # fmt: skip
    for o in parity.outputs:
        lines += ["", f"Error histogram of {o.name} (|a-b| up to each edge: count):",
                  ", ".join(f"{'0' if e == 0 else _fmt(e)}: {c}" for e, c in o.histogram)]  # fmt: skip
    return lines


def _inputs_markdown(heading: str, inputs: list[dict[str, Any]]) -> list[str]:
    lines = ["", heading, "", "| name | shape | dtype | source | free dimensions given | mean | std |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    return lines + ["| " + " | ".join(r) + " |" for r in _inputs_rows(inputs)]


def render_markdown(parity: ParityReport | None, inputs: list[dict[str, Any]], layers: LayerReport | None,
                    title: str) -> str:  # fmt: skip
    lines = [f"# {title}", ""]
    if parity is not None:
        lines += _parity_markdown(parity)
    lines += _inputs_markdown("## Inputs", inputs)
    for other in parity.other_sizes if parity is not None else []:
        lines += ["", f"## Again with the free dimensions at other sizes ({_sizes(other.inputs)})", ""]
        lines += _parity_markdown(other) + _inputs_markdown("Inputs:", other.inputs)
    if parity is not None and parity.fixed:
        lines += ["", f"Checked at one size only: {parity.fixed}."]
    if layers is not None:
        first = layers.first_divergent
        lines += ["", "## Layer-wise", "", f"Reference values: {layers.reference_values}; candidate: "
                  f"{layers.candidate_values}; {len(layers.rows)} IR values compared, {layers.not_compared} "
                  "reported by one side only.", ""]  # fmt: skip
        if first:
            lines += [f"First divergent IR value: `{first.value}` from node `{first.node}` ({first.op}, "
                      f"{first.attributes}): max abs {_fmt(first.max_abs)}, max rel {_fmt(first.max_rel)}, "
                      f"{first.mismatched}/{first.total} elements out of tolerance.", ""]  # fmt: skip
        else:
            lines += ["Every compared IR value is within tolerance.", ""]
        lines += ["| # | value | node | op | max abs err | result |", "|---|---|---|---|---|---|"]
        lines += [f"| {i} | {r.value} | {r.node} | {r.op} | {_fmt(r.max_abs)} | {'pass' if r.passed else 'FAIL'} |"
                  for i, r in enumerate(layers.rows)]  # fmt: skip
    return "\n".join(lines) + "\n"


def _parity_html(parity: ParityReport) -> list[str]:
    e = html.escape
    verdict = '<span class="pass">PASS</span>' if parity.passed else '<span class="fail">FAIL</span>'
    out = [f"<p>Reference: {e(parity.reference_engine)}. Candidate: {e(parity.candidate_engine)}. "
           f"Pass when |a−b| ≤ {parity.atol:g} + {parity.rtol:g}·|ref| for every element: {verdict}</p>",
           "<table><tr><th>output</th><th>shape</th><th>max abs err</th><th>max rel err</th>"
           "<th>mismatched</th><th>result</th></tr>"]  # fmt: skip
    for o in parity.outputs:
        verdict_o = "pass" if o.passed else "FAIL"
        res = f'<span class="{verdict_o.lower()}">{verdict_o}</span> {e(o.note)}'
        out.append(f"<tr><td>{e(o.name)}</td><td>{'×'.join(map(str, o.shape))}</td><td>{_fmt(o.max_abs)}</td>"
                   f"<td>{_fmt(o.max_rel)}</td><td>{o.mismatched}/{o.total}</td><td>{res}</td></tr>")  # fmt: skip
    out.append("</table>")
    for o in parity.outputs:
        out.append(f"<h3>Error histogram: {e(o.name)}</h3>{_histogram_svg(o.histogram)}")
    return out


def _inputs_html(heading: str, inputs: list[dict[str, Any]]) -> list[str]:
    out = [heading + "<table><tr><th>name</th><th>shape</th><th>dtype</th><th>source</th>"
           "<th>free dimensions given</th><th>mean</th><th>std</th></tr>"]  # fmt: skip
    out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in _inputs_rows(inputs)]
    return out + ["</table>"]


def render_html(parity: ParityReport | None, inputs: list[dict[str, Any]], layers: LayerReport | None,
                title: str) -> str:  # fmt: skip
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
           "body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}.fail{color:#c33;font-weight:bold}"
           ".pass{color:#282}</style></head><body>", f"<h1>{e(title)}</h1>"]  # fmt: skip
    if parity is not None:
        out += _parity_html(parity)
    out += _inputs_html("<h2>Inputs</h2>", inputs)
    for other in parity.other_sizes if parity is not None else []:
        out.append(f"<h2>Again with the free dimensions at other sizes ({e(_sizes(other.inputs))})</h2>")
        out += _parity_html(other) + _inputs_html("<h3>Inputs</h3>", other.inputs)
    if parity is not None and parity.fixed:
        out.append(f"<p>Checked at one size only: {e(parity.fixed)}.</p>")
    if layers is not None:
        first = layers.first_divergent
        out.append(f"<h2>Layer-wise</h2><p>Reference values: {e(layers.reference_values)}; candidate: "
                   f"{e(layers.candidate_values)}; {len(layers.rows)} IR values compared, {layers.not_compared} "
                   "reported by one side only.</p>")  # fmt: skip
        if first:
            out.append(f"<p class='fail'>First divergent IR value: <code>{e(first.value)}</code> from node "
                       f"<code>{e(first.node)}</code> ({e(first.op)}, {e(str(first.attributes))}): max abs "
                       f"{_fmt(first.max_abs)}, max rel {_fmt(first.max_rel)}, {first.mismatched}/{first.total} "
                       "elements out of tolerance.</p>")  # fmt: skip
        else:
            out.append("<p class='pass'>Every compared IR value is within tolerance.</p>")
        out.append(_curve_svg(layers))
        out.append(
            "<table><tr><th>#</th><th>value</th><th>node</th><th>op</th><th>max abs err</th><th>result</th></tr>"
        )
        out += [f"<tr><td>{i}</td><td>{e(r.value)}</td><td>{e(r.node)}</td><td>{e(r.op)}</td><td>{_fmt(r.max_abs)}"
                f"</td><td>{'pass' if r.passed else '<span class=fail>FAIL</span>'}</td></tr>"
                for i, r in enumerate(layers.rows)]  # fmt: skip
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def check_report_path(path: Path) -> Path:
    """Before any work: the report is .html or .md (`bad-option`) in a folder that takes files."""
    from .outputs import check_output

    if path.suffix.lower() not in (".html", ".htm", ".md"):
        raise BrokerError("the report must end in .html or .md", reference="bad-option", file=str(path),
                          hint="e.g. --report report.html")  # fmt: skip
    return check_output(path)


def write_report(path: Path, parity: ParityReport | None, inputs: list[dict[str, Any]],
                 layers: LayerReport | None = None, title: str = "mmbroker verification") -> Path:  # fmt: skip
    check_report_path(path)
    if path.suffix.lower() == ".md":
        text = render_markdown(parity, inputs, layers, title)
    else:
        text = render_html(parity, inputs, layers, title)
    atomic_write(str(path), lambda tmp: Path(tmp).write_text(text))
    return path

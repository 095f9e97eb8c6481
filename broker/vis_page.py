"""One self-contained HTML page of an IR graph: every node with its op, attributes, output shapes and
parameter count, laid out as a layered graph (grandalf's Sugiyama layout) and drawn as inline SVG;
no script or style from anywhere else. Given a layer-wise report (`mmbroker compare --layers
--json`), nodes are coloured by their divergence and the first divergent node is marked.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .errors import BrokerError
from .layers import attribute_texts

NODE_W, LINE_H, PAD = 190, 15, 6


@dataclass
class DrawnNode:
    key: str
    name: str
    op: str
    outputs: list[tuple[str, list[Any]]]
    attributes: dict[str, str]
    params: int
    inputs: list[str] = field(default_factory=list)
    divergence: dict[str, Any] | None = None
    first_divergent: bool = False
    x: float = 0.0
    y: float = 0.0

    @property
    def lines(self) -> list[str]:
        shapes = ", ".join("x".join(str(d) for d in s) if s else "?" for _, s in self.outputs)
        out = [self.op, self.name[:30], shapes[:32]]
        if self.params:
            out.append(f"{self.params:,} params")
        if self.divergence is not None:
            out.append(f"max abs err {self.divergence['max_abs']:.3g}")
        return out

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_H + 2 * PAD


def _shape(vi: onnx.ValueInfoProto) -> list[Any]:
    t = vi.type.tensor_type
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


def graph_nodes(model: onnx.ModelProto) -> list[DrawnNode]:
    """The nodes to draw: graph inputs, every operator node, graph outputs."""
    g = model.graph
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # shapes are a nicety: a graph the inference cannot follow is drawn without them
        inferred = g
    shapes = {vi.name: _shape(vi) for vi in [*inferred.input, *inferred.value_info, *inferred.output]}
    sizes = {t.name: int(np.prod(t.dims)) if t.dims else 1 for t in g.initializer}
    producer: dict[str, str] = {}
    nodes: list[DrawnNode] = []
    for vi in g.input:
        if vi.name in sizes:
            continue
        nodes.append(DrawnNode(f"input:{vi.name}", vi.name, "Input", [(vi.name, shapes.get(vi.name, []))], {}, 0))
        producer[vi.name] = nodes[-1].key
    for i, n in enumerate(g.node):
        key = f"node:{i}"
        outs = [(o, shapes.get(o, [])) for o in n.output if o]
        params = sum(sizes.get(x, 0) for x in n.input)
        drawn = DrawnNode(
            key,
            n.name or (n.output[0] if n.output else key),
            n.op_type,
            outs,
            attribute_texts(n),
            params,
            [producer[x] for x in n.input if x in producer],
        )
        nodes.append(drawn)
        for o, _ in outs:
            producer[o] = key
    for vi in g.output:
        nodes.append(
            DrawnNode(
                f"output:{vi.name}",
                vi.name,
                "Output",
                [(vi.name, shapes.get(vi.name, []))],
                {},
                0,
                [producer[vi.name]] if vi.name in producer else [],
            )
        )
    return nodes


def read_layers_report(path: Path) -> dict[str, Any]:
    """The layer-wise part of `compare --layers --json` output (or a bare layer report)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BrokerError(
            f"cannot read the layer report: {exc}",
            reference="bad-input",
            file=str(path),
            hint="give the JSON printed by: mmbroker compare A B --layers --json > R.json",
        ) from None
    layers = data.get("layers") if isinstance(data, dict) else None
    if isinstance(layers, dict):
        data = layers
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise BrokerError(
            "not a layer-wise report (no per-layer rows)",
            reference="bad-input",
            file=str(path),
            hint="write it with: mmbroker compare A B --layers --json > R.json",
        )
    return data


def apply_divergence(nodes: list[DrawnNode], report: dict[str, Any]) -> int:
    """Attach each report row to the node computing its IR value; returns how many matched."""
    by_value = {r["value"]: r for r in report["layers"]}
    first = (report.get("first_divergent") or {}).get("value")
    matched = 0
    for n in nodes:
        if n.op in ("Input", "Output"):
            continue
        for value, _ in n.outputs:
            row = by_value.get(value)
            if row is not None:
                n.divergence = row
                n.first_divergent = value == first
                matched += 1
                break
    return matched


def colour(n: DrawnNode, atol: float) -> str:
    if n.op in ("Input", "Output"):
        return "#e8eef7"
    if n.divergence is None:
        return "#f4f4f4"
    if n.divergence["passed"]:
        return "#cdebc5"
    err = n.divergence["max_abs"]
    level = 1.0 if not math.isfinite(err) else min(1.0, max(0.0, math.log10(max(err, atol) / atol) / 6))
    g = int(200 - 150 * level)
    return f"#f0{g:02x}50" if level < 0.5 else f"#e0{max(g - 40, 30):02x}3c"


def layout(nodes: list[DrawnNode]) -> tuple[float, float, list[tuple[DrawnNode, DrawnNode]]]:
    """Positions (node centres) from grandalf's Sugiyama layout; returns (width, height, edges)."""
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class View:
        def __init__(self, w: float, h: float) -> None:
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

    index = {n.key: n for n in nodes}
    vertices = {n.key: Vertex(n.key) for n in nodes}
    for n in nodes:
        vertices[n.key].view = View(NODE_W, n.height)
    pairs = [(index[src], n) for n in nodes for src in dict.fromkeys(n.inputs)]
    graph = Graph(list(vertices.values()), [Edge(vertices[a.key], vertices[b.key]) for a, b in pairs])
    offset = 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 30, 40
        sug.init_all()
        sug.draw(2)
        xs = [v.view.xy[0] for v in component.sV]
        left = min(xs) - NODE_W / 2
        for v in component.sV:
            index[v.data].x = v.view.xy[0] - left + offset + 20
            index[v.data].y = v.view.xy[1]
        offset += max(xs) - min(xs) + NODE_W + 40
    top = min(n.y - n.height / 2 for n in nodes)
    for n in nodes:
        n.y += 20 - top
    width = max(n.x + NODE_W / 2 for n in nodes) + 140  # room for the first-divergent badge
    height = max(n.y + n.height / 2 for n in nodes) + 20
    return width, height, pairs


_STYLE = """
body { margin: 0; font: 12px sans-serif; display: flex; height: 100vh; }
#graph { flex: 1; overflow: auto; background: #fff; }
#side { width: 320px; border-left: 1px solid #ccc; padding: 10px; overflow: auto; background: #fafafa; }
.node rect { stroke: #555; stroke-width: 1; rx: 5; }
.node.first-divergent rect { stroke: #c00; stroke-width: 4; }
.node text { font: 11px monospace; }
.node text.op { font-weight: bold; }
.node:hover rect { stroke-width: 2; }
.edge { fill: none; stroke: #888; stroke-width: 1.2; }
.badge { fill: #c00; font: bold 11px sans-serif; }
table { border-collapse: collapse; } td { padding: 1px 4px; vertical-align: top; font-family: monospace; }
h1 { font-size: 14px; } .legend span { display: inline-block; width: 12px; height: 12px; margin-right: 4px; }
"""

_SCRIPT = """
const info = JSON.parse(document.getElementById('node-data').textContent);
function show(key) {
  const n = info[key];
  if (!n) return;
  const rows = [['op', n.op], ['name', n.name]];
  for (const [o, s] of n.outputs) rows.push(['output', o + ' ' + JSON.stringify(s)]);
  rows.push(['parameters', n.params.toLocaleString()]);
  for (const [k, v] of Object.entries(n.attributes)) rows.push([k, v]);
  if (n.divergence) for (const k of ['max_abs', 'max_rel', 'mismatched', 'total', 'passed'])
    rows.push([k, String(n.divergence[k])]);
  const table = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  document.getElementById('details').replaceChildren(table);
}
for (const g of document.querySelectorAll('.node')) g.addEventListener('click', () => show(g.dataset.key));
const first = document.querySelector('.node.first-divergent');
if (first) { first.scrollIntoView({block: 'center', inline: 'center'}); show(first.dataset.key); }
"""


def render(model: onnx.ModelProto, title: str, report: dict[str, Any] | None = None) -> str:
    nodes = graph_nodes(model)
    matched = apply_divergence(nodes, report) if report is not None else 0
    atol = float(report.get("atol", 1e-4)) if report else 1e-4
    width, height, edges = layout(nodes)
    esc = html.escape
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" id="graph-svg" width="{width:.0f}" height="{height:.0f}">']
    for a, b in edges:
        y1, y2 = a.y + a.height / 2, b.y - b.height / 2
        mid = (y1 + y2) / 2
        svg.append(
            f'<path class="edge" d="M{a.x:.1f},{y1:.1f} C{a.x:.1f},{mid:.1f} {b.x:.1f},{mid:.1f} {b.x:.1f},{y2:.1f}"/>'
        )
    for n in nodes:
        cls = (
            "node"
            + (" first-divergent" if n.first_divergent else "")
            + (" diverged" if n.divergence and not n.divergence["passed"] else "")
        )
        x0, y0 = n.x - NODE_W / 2, n.y - n.height / 2
        attrs = "; ".join(f"{k}={v}" for k, v in n.attributes.items())
        svg.append(
            f'<g class="{cls}" data-key="{esc(n.key)}" data-name="{esc(n.name)}" data-op="{esc(n.op)}"'
            f' data-params="{n.params}"'
            + (
                f' data-max-abs="{n.divergence["max_abs"]}" data-passed="{str(n.divergence["passed"]).lower()}"'
                if n.divergence
                else ""
            )
            + ">"
        )
        svg.append(f"<title>{esc(n.op)} {esc(n.name)}{(' — ' + esc(attrs)) if attrs else ''}</title>")
        svg.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{NODE_W}" height="{n.height:.0f}" fill="{colour(n, atol)}"/>'
        )
        for i, line in enumerate(n.lines):
            cls_t = ' class="op"' if i == 0 else ""
            svg.append(f'<text{cls_t} x="{x0 + PAD:.1f}" y="{y0 + PAD + (i + 0.8) * LINE_H:.1f}">{esc(line)}</text>')
        if n.first_divergent:
            svg.append(f'<text class="badge" x="{x0 + NODE_W + 4:.1f}" y="{n.y:.1f}">◀ first divergent</text>')
        svg.append("</g>")
    svg.append("</svg>")
    data = {
        n.key: {
            "op": n.op,
            "name": n.name,
            "outputs": n.outputs,
            "params": n.params,
            "attributes": n.attributes,
            "divergence": n.divergence,
        }
        for n in nodes
    }
    total = sum(n.params for n in nodes)
    ops = len([n for n in nodes if n.op not in ("Input", "Output")])
    side = [f"<h1>{esc(title)}</h1>", f"<p>{ops} nodes, {total:,} parameters</p>"]
    if report is not None:
        first = report.get("first_divergent")
        side.append(
            f"<p>layer-wise: {matched} nodes matched to the report (atol {atol:g}, rtol "
            f"{float(report.get('rtol', 0)):g})</p>"
        )
        side.append(
            f'<p id="first-divergent">first divergent: {esc(first["node"] or first["value"])} '
            f"({esc(first['op'])}), max abs err {first['max_abs']:.3g}</p>"
            if first
            else '<p id="first-divergent">no node diverges</p>'
        )
        side.append(
            '<p class="legend"><span style="background:#cdebc5"></span>within tolerance '
            '<span style="background:#f0c850"></span><span style="background:#e0323c"></span>diverged '
            '<span style="background:#f4f4f4"></span>not compared</p>'
        )
    side.append('<div id="details">click a node for its details</div>')
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>"
        f'<div id="graph">{"".join(svg)}</div><div id="side">{"".join(side)}</div>'
        f'<script type="application/json" id="node-data">{payload}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )

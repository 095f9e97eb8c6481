"""The batch matrix rendered: one row per cell in JSON; a model x target table in Markdown and in a
self-contained HTML page (inline style, no script, no fetch), each cell linking to its parity report."""

from __future__ import annotations

import html
from typing import Any

from .plan import Cell

_KEEP = ("source", "status", "max_abs", "max_rel", "atol", "rtol", "op", "node", "reference", "message", "note",
         "attempts", "seconds", "host", "engines", "skipped", "digest")  # fmt: skip
_COLOURS = {"pass": "#d7f0d8", "fail": "#f8d3cf", "refused": "#f3e7c4", "error": "#e7d4ee", "unchecked": "#dde6f3",
            "pending": "#eeeeee"}  # fmt: skip


def row(cell: Cell, record: dict[str, Any] | None) -> dict[str, Any]:
    """A cell of the matrix: model, target, status (`pending` until it finished) and what explains it."""
    found: dict[str, Any] = {"model": cell.model.name, "target": cell.target, "status": "pending"}
    if record is None:
        return found
    found.update({k: record[k] for k in _KEEP if k in record})
    found["retried"] = int(record.get("attempts") or 1) > 1
    base = f"cells/{cell.model.name}/{cell.target}/"
    found["record"] = base + "cell.json"
    if record.get("report"):
        found["report"] = base + str(record["report"])
    if record.get("files"):
        found["files"] = [base + str(f) for f in record["files"]]
    return found


def _num(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, (int, float)) else str(x)


def summary(r: dict[str, Any]) -> str:
    """One line for a cell: `pass (max abs 1e-07, rel 3e-06)`, `refused (op Einsum)`, `error (bad-shape: ...)`."""
    status = r["status"]
    if status in ("pass", "fail") and "max_abs" in r:
        text = f"{status} (max abs {_num(r['max_abs'])}, rel {_num(r['max_rel'])})"
    elif status == "refused":
        text = f"refused (op {r.get('op') or '?'})"
    elif status == "error":
        text = f"error ({r.get('reference', '')}: {r.get('message', '')})"
    elif status == "unchecked":
        text = f"unchecked ({r.get('note', '')})"
    else:
        text = status
    if r.get("retried") or int(r.get("attempts") or 1) > 1:
        text += f", {r['attempts']} attempts"
    return text


def _grid(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["model"], c["target"]): c for c in doc["cells"]}


def _counts(doc: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for c in doc["cells"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    retried = sum(1 for c in doc["cells"] if c.get("retried"))
    return ", ".join([f"{k} {v}" for k, v in sorted(counts.items())] + ([f"retried {retried}"] if retried else []))


def markdown(doc: dict[str, Any]) -> str:
    grid = _grid(doc)
    lines = ["# Batch conversion matrix", "", f"Plan `{doc['plan']}`, mmbroker {doc['mmbroker']}: {_counts(doc)}.", "",
             "| model | " + " | ".join(doc["targets"]) + " |", "|---" * (len(doc["targets"]) + 1) + "|"]  # fmt: skip
    for m in doc["models"]:
        cells = []
        for t in doc["targets"]:
            c = grid[(m, t)]
            text = summary(c).replace("|", "\\|").replace("\n", " ")
            cells.append(f"[{text}]({c['report']})" if c.get("report") else text)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _html_cell(c: dict[str, Any]) -> str:
    status = c["status"]
    parts = [f'<span class="status">{html.escape(status)}</span>']
    if "max_abs" in c and status in ("pass", "fail"):
        parts.append(f'<span class="err">max abs {_num(c["max_abs"])}<br>max rel {_num(c["max_rel"])}</span>')
    if status == "refused":
        parts.append(f'<span class="op">op {html.escape(str(c.get("op") or "?"))}</span>')
    if status == "error":
        parts.append(f'<span class="ref">{html.escape(str(c.get("reference", "")))}</span>')
    if c.get("retried"):
        parts.append(f'<span class="retried">retried: {int(c.get("attempts") or 0)} attempts</span>')
    if c.get("report"):
        parts.append(f'<a href="{html.escape(c["report"])}">parity report</a>')
    title = html.escape(str(c.get("message") or c.get("note") or ""))
    return (f'<td class="{html.escape(status)}" data-model="{html.escape(c["model"])}" '
            f'data-target="{html.escape(c["target"])}" title="{title}">' + "<br>".join(parts) + "</td>")  # fmt: skip


def html_page(doc: dict[str, Any]) -> str:
    grid = _grid(doc)
    style = "".join(f"td.{k}{{background:{v}}}" for k, v in _COLOURS.items())
    head = "".join(f"<th>{html.escape(t)}</th>" for t in doc["targets"])
    body = "".join(
        f"<tr><th>{html.escape(m)}</th>" + "".join(_html_cell(grid[(m, t)]) for t in doc["targets"]) + "</tr>"
        for m in doc["models"]
    )
    errors = "".join(
        f"<li><b>{html.escape(c['model'])} → {html.escape(c['target'])}</b> "
        f"{html.escape(str(c.get('reference', '')))}: {html.escape(str(c.get('message', '')))}</li>"
        for c in doc["cells"] if c["status"] in ("error", "refused")
    )  # fmt: skip
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mmbroker batch matrix</title>'
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #bbb;padding:6px 10px;vertical-align:top;text-align:left}"
        ".status{font-weight:bold}.err,.op,.ref,.retried{font-size:12px}" + style + "</style></head><body>"
        f"<h1>Batch conversion matrix</h1><p>Plan <code>{html.escape(doc['plan'])}</code>, mmbroker "
        f'{html.escape(doc["mmbroker"])}: <span id="counts">{html.escape(_counts(doc))}</span></p>'
        f'<table id="matrix"><thead><tr><th>model</th>{head}</tr></thead><tbody>{body}</tbody></table>'
        + (f"<h2>Refusals and errors</h2><ul>{errors}</ul>" if errors else "")
        + "</body></html>\n"
    )

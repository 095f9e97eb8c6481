"""A readable summary of an IR graph: inputs, outputs, ops, parameter counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import onnx

from runners.common import ir as common_ir

from .canonical import CANONICAL_KEY, canonical_report
from .inputs import describe, summary_fields


def _shape(vi: onnx.ValueInfoProto) -> list[Any]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


def _dtype(vi: onnx.ValueInfoProto) -> str:
    elem = vi.type.tensor_type.elem_type
    return onnx.helper.tensor_dtype_to_np_dtype(elem).name if elem else "?"


def summarize(model: onnx.ModelProto) -> dict[str, Any]:
    g = model.graph
    params = 0
    for init in g.initializer:
        n = 1
        for d in init.dims:
            n *= d
        params += n
    ops = Counter(n.op_type for n in g.node)
    meta = {p.key: p.value for p in model.metadata_props}
    return {
        "name": g.name,
        "opset": common_ir.opset_of(model),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": [
            {"name": i.name, "shape": _shape(i), "dtype": _dtype(i), **summary_fields(d)}
            for i, d in zip(common_ir.graph_inputs(model), describe(model))
        ],  # fmt: skip
        "outputs": [{"name": o.name, "shape": _shape(o), "dtype": _dtype(o)} for o in g.output],
        "nodes": len(g.node),
        "ops": dict(sorted(ops.items())),
        "parameters": params,
        "initializers": len(g.initializer),
        "metadata": meta,
        "canonical": report.lines() if (report := canonical_report(model)) else None,
    }


def render(summary: dict[str, Any]) -> str:
    lines = [f"graph {summary['name']!r}  opset {summary['opset']}  producer {summary['producer'] or '?'}"]
    for kind in ("inputs", "outputs"):
        for v in summary[kind]:
            lines.append(f"  {kind[:-1]:6} {v['name']}  {v['dtype']}  {v['shape']}")
    lines.append(
        f"  {summary['nodes']} nodes, {summary['parameters']:,} parameters in {summary['initializers']} tensors"
    )
    lines.append("  ops: " + ", ".join(f"{op}×{n}" for op, n in summary["ops"].items()))
    for k, v in summary["metadata"].items():
        if k == CANONICAL_KEY:
            continue
        lines.append(f"  {k}: {v}")
    if summary.get("canonical"):
        lines.append("  canonicalized: " + "; ".join(summary["canonical"]))
    return "\n".join(lines)

"""Layer-wise comparison: run both models with intermediates, match values through IR value names,
and name the first IR node whose output diverges.

The reference's intermediate values come from its own runner when it can report them (generated
code, ONNX models); otherwise from the IR itself, executed by onnxruntime in the ONNX runner —
whose final outputs are checked against the reference model's first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import BrokerError
from .parity import compare_arrays
from .pipeline import InputShape, Session

if TYPE_CHECKING:
    import onnx


@dataclass
class LayerError:
    value: str
    node: str
    op: str
    attributes: dict[str, str]
    shape: list[int]
    max_abs: float
    max_rel: float
    mismatched: int
    total: int
    passed: bool


@dataclass
class LayerReport:
    atol: float
    rtol: float
    reference_values: str  # where the reference intermediates came from
    candidate_values: str
    rows: list[LayerError] = field(default_factory=list)
    not_compared: int = 0  # IR values that only one side reports

    @property
    def first_divergent(self) -> LayerError | None:
        return next((r for r in self.rows if not r.passed), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_divergent
        return {
            "atol": self.atol,
            "rtol": self.rtol,
            "reference_values": self.reference_values,
            "candidate_values": self.candidate_values,
            "compared": len(self.rows),
            "not_compared": self.not_compared,
            "first_divergent": asdict(first) if first else None,
            "layers": [asdict(r) for r in self.rows],
        }


def attribute_texts(node: onnx.NodeProto) -> dict[str, str]:
    import onnx

    out = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if isinstance(value, onnx.TensorProto):
            value = f"tensor{list(value.dims)}"
        out[a.name] = str(value)[:80]
    return out


def layerwise(
    session: Session,
    reference: tuple[str, list[str]],
    candidate: tuple[str, list[str]],
    inputs: dict[str, np.ndarray],
    *,
    atol: float,
    rtol: float,
    reference_options: dict[str, str] | None = None,
    allow_nan: bool = False,
    input_shapes: list[InputShape] | None = None,
) -> LayerReport:
    """`reference_options`: the source-format options (--class, --caffePhase) of the reference;
    `input_shapes`: --inputShape, for formats that do not store their input shapes (MXNet, Torch7)."""
    from .ir import load_ir

    ir = session.toir(reference[0], reference[1], inputs=input_shapes, options=reference_options)
    model = load_ir(ir.graph, ir.weights)
    _, ref_values, ref_engine = session.infer(
        reference[0], reference[1], inputs, intermediates=True, options=reference_options
    )
    source = f"{reference[0]} ({ref_engine})"
    if not ref_values:
        _, ref_values, engine = session.infer("onnx", [str(ir.graph), str(ir.weights)], inputs, intermediates=True)
        source = f"the IR of {reference[0]}'s model, run by {engine}"
    _, cand_values, cand_engine = session.infer(candidate[0], candidate[1], inputs, intermediates=True)
    if not cand_values:
        raise BrokerError(
            f"the {candidate[0]} runner reports no intermediate values for {candidate[1][0]}",
            reference="no-intermediates",
            file=candidate[1][0],
            hint="layer-wise comparison needs a model written by mmbroker (its code maps tensors to IR values) "
            "or an ONNX model",
        )
    report = LayerReport(atol, rtol, source, f"{candidate[0]} ({cand_engine})")
    seen = set()
    for node in model.graph.node:
        for value in node.output:
            if not value or value in seen:
                continue
            seen.add(value)
            if value not in ref_values or value not in cand_values:
                report.not_compared += 1
                continue
            a, b = np.asarray(cand_values[value]), np.asarray(ref_values[value])
            if a.shape != b.shape:
                if a.size == b.size:
                    a = a.reshape(b.shape)
                else:
                    report.rows.append(LayerError(value, node.name, node.op_type, attribute_texts(node), list(b.shape),
                                                  float("inf"), float("inf"), b.size, b.size, False))  # fmt: skip
                    continue
            if b.dtype.kind not in "biuf" or a.dtype.kind not in "biuf":
                continue
            max_abs, max_rel, bad, ok = compare_arrays(a, b, atol, rtol, allow_nan)
            report.rows.append(LayerError(value, node.name, node.op_type, attribute_texts(node), list(b.shape),
                                          max_abs, max_rel, bad, int(b.size), ok))  # fmt: skip
    if not report.rows:
        raise BrokerError(
            "the two models share no IR value names, so no layer can be matched",
            reference="no-intermediates",
            hint="compare a model with one converted from it by mmbroker",
        )
    return report

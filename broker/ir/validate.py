"""Checks on IR graphs: ONNX checker, shape inference, opset conversion."""

from __future__ import annotations

import onnx
from onnx import version_converter

from runners.common import ir as common_ir

from ..errors import BrokerError
from . import weights


def check(model: onnx.ModelProto, where: str = "", made_by: str = "") -> None:
    """Run the ONNX checker. `made_by` names the part of mmbroker that made `model` (`the caffe
    parser`, `canonicalization`): its graph is then mmbroker's own output, and an invalid one is a
    bug, not the user's file."""
    try:
        problem = common_ir.opset_problem(model)
        if problem:
            raise ValueError(problem)
        onnx.checker.check_model(weights.for_checker(model))
    except Exception as exc:
        reason = first_line(exc)
        if made_by:
            raise BrokerError(
                f"{made_by} produced an IR graph that is not valid ONNX: {reason}",
                reference="internal-bug",
                file=where,
                hint=f"this is a bug in mmbroker ({made_by}); run again with --debug and report it with the model",
            ) from exc
        raise BrokerError(
            f"the graph is not valid ONNX: {reason}",
            reference="invalid-model",
            file=where,
            hint="repair the graph at the node named, or export it again",
        ) from exc


def validate(model: onnx.ModelProto, where: str = "", made_by: str = "") -> onnx.ModelProto:
    """Run the ONNX checker and shape inference; return the model with inferred shapes."""
    check(model, where, made_by)
    try:
        return weights.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise BrokerError(
            f"shape inference failed: {first_line(exc)}",
            reference="bad-shape",
            file=where,
            hint="give input shapes with --inputShape",
        ) from exc


def first_line(exc: BaseException) -> str:
    """The exception's text on one line (the checker spreads a node's name over several), cut short."""
    text = " ".join(str(exc).split())
    return (text[:400] + " ...") if len(text) > 400 else text or type(exc).__name__


def convert_opset(model: onnx.ModelProto, target: int = common_ir.IR_OPSET, where: str = "") -> onnx.ModelProto:
    current = common_ir.opset_of(model)
    if current == target:
        return model
    try:
        return version_converter.convert_version(model, target)
    except Exception as exc:
        raise BrokerError(
            f"cannot convert from opset {current} to {target}: {first_line(exc)}",
            reference="unsupported-opset",
            file=where,
            opset=current,
        ) from exc


def unsupported_nodes(model: onnx.ModelProto, supported: set[str]) -> list[tuple[str, str]]:
    return [(n.name or n.output[0], n.op_type) for n in model.graph.node if n.op_type not in supported]

"""Checks on IR graphs: ONNX checker, shape inference, opset conversion."""

from __future__ import annotations

import onnx
from onnx import version_converter

from runners.common import ir as common_ir

from ..errors import BrokerError


def validate(model: onnx.ModelProto, where: str = "") -> onnx.ModelProto:
    """Run the ONNX checker and shape inference; return the model with inferred shapes."""
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise BrokerError(
            f"the IR graph is not valid ONNX: {str(exc).strip().splitlines()[0]}",
            reference="invalid-ir",
            file=where,
            hint="the parser that produced it has a bug; report it with the model",
        ) from exc
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise BrokerError(
            f"shape inference failed: {str(exc).strip().splitlines()[0]}",
            reference="shape-inference-failed",
            file=where,
            hint="give input shapes with --inputShape",
        ) from exc


def convert_opset(model: onnx.ModelProto, target: int = common_ir.IR_OPSET, where: str = "") -> onnx.ModelProto:
    current = common_ir.opset_of(model)
    if current == target:
        return model
    try:
        return version_converter.convert_version(model, target)
    except Exception as exc:
        raise BrokerError(
            f"cannot convert from opset {current} to {target}: {str(exc).strip().splitlines()[0]}",
            reference="opset-conversion-failed",
            file=where,
            opset=current,
        ) from exc


def unsupported_nodes(model: onnx.ModelProto, supported: set[str]) -> list[tuple[str, str]]:
    return [(n.name or n.output[0], n.op_type) for n in model.graph.node if n.op_type not in supported]

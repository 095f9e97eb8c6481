"""The IR: ONNX graphs at one opset, weights beside them. Load, save, validate, transform, summarise."""

from runners.common.ir import IR_LAYOUT, IR_OPSET

from .io import IRFiles, load_ir, save_ir
from .summary import summarize

__all__ = ["IR_LAYOUT", "IR_OPSET", "IRFiles", "load_ir", "save_ir", "summarize"]

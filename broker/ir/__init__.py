"""The IR: ONNX graphs at one opset, weights beside them. Load, save, validate, transform, summarise.

Reading and writing graphs needs onnx (50 ms to import); `load_ir`, `save_ir` and `summarize` are
imported when first asked for, so that a conversion served from the caches never imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runners.common.ir import IR_LAYOUT, IR_OPSET

from .files import IRFiles

if TYPE_CHECKING:
    from .io import load_ir, save_ir
    from .summary import summarize

__all__ = ["IR_LAYOUT", "IR_OPSET", "IRFiles", "load_ir", "save_ir", "summarize"]

_LAZY = {"load_ir": ".io", "save_ir": ".io", "summarize": ".summary"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The IR passes' libraries imported in the background while a runner parses.

onnxscript and onnx-ir take seconds to import (onnx-ir brings sympy), and a cold conversion
would wait for them after the parse; a thread imports them while the broker's main thread only
waits for the source runner's Parse call. Whoever needs them calls `wait()` first, so a module is
never imported by two threads at once."""

from __future__ import annotations

import importlib
import threading

MODULES = (
    "onnx.version_converter",
    "onnx_ir",
    "onnx_ir.passes.common",
    "onnxscript.optimizer._constant_folding",
    "onnxscript.rewriter",
    "onnxscript.rewriter.rules.common",
)

_thread: threading.Thread | None = None
_lock = threading.Lock()


def _load() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (the pass that needs it reports the failure itself)
            return


def start() -> None:
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_load, name="ir preload", daemon=True)
            _thread.start()


def wait() -> None:
    """Until the background imports (if started) are done."""
    with _lock:
        thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()

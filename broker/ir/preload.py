"""The IR passes' libraries imported in the background while a runner parses, where cores are
free for it.

onnxscript and onnx-ir take 0.6 s of CPU to import (onnx-ir brings sympy), and a cold conversion
would wait for them after the parse; a thread imports them while the broker's main thread only
waits for the source runner's Parse call. Whoever needs them calls `wait()` first, so a module is
never imported by two threads at once.

Only with more than two cores: on two, the source and target runners are importing their
frameworks at that moment and the import only takes CPU from them. Measured on 2 cores with
`--cold --no-verify`: MXNet ResNet-50 -> PyTorch, whose graph needs neither library
(canonicalize's fast path), 2.6 s with the import in the background, 2.3 s without; the ONNX
zoo's ShuffleNet -> PyTorch, which needs both, 2 % faster without it."""

from __future__ import annotations

import importlib
import os
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


def _spare_cores() -> bool:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return cores > 2


def start() -> None:
    """Start the imports in the background, when this machine has cores to spare."""
    global _thread
    if not _spare_cores():
        return
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

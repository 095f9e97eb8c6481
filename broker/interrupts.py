"""SIGINT, SIGTERM and SIGHUP end the broker the same way: as an exception in the main thread.

The first signal raises `Interrupted` wherever the main thread is, a gRPC
call or an installer included; unwinding runs every `finally` and context manager on the way
(runners stopped, temporary folders removed, an environment build's directory removed), and
the command line prints one line and exits with 128 + the signal number (130, 143, 129). A
second signal while that runs ends the process at once; the watchdog (watchdog.py) then
stops and removes what is left.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(BaseException):
    """Not a KeyboardInterrupt: click turns those into a silent exit 130 before the CLI sees them,
    and `except Exception` must not catch it either."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_received: list[int] = []


def _handler(signum: int, frame: FrameType | None) -> None:
    if _received:  # a second signal: stop now, the watchdog cleans up
        os._exit(128 + signum)
    _received.append(signum)
    raise Interrupted(signum)


_previous: dict[int, object] = {}


def install() -> bool:
    """Handle SIGINT, SIGTERM and SIGHUP as above; only possible from the main thread. A signal the
    broker was started with ignored stays ignored (`nohup`, a background job's SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    _received.clear()
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if current is not signal.SIG_IGN:
            _previous.setdefault(signum, current)
            signal.signal(signum, _handler)
    return True


def uninstall() -> None:
    """Put back the handlers `install` replaced (the CLI run in-process, as tests do)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in _previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]
    _previous.clear()
    _received.clear()

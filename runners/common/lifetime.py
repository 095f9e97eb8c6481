"""How a runner ends together with its broker, even in the middle of a call.

A gRPC server runs calls in worker threads that Python cannot interrupt, and the interpreter
waits for them at exit; so a runner whose broker is gone leaves with `os._exit` instead, after
removing its private directory and killing its own process group (anything it started).

Two signals that the broker is gone, whichever comes first:
- Linux `prctl(PR_SET_PDEATHSIG)`: the kernel sends SIGUSR1 when the parent exits. The kernel
  sends it when the *thread* that started the runner exits, so the handler checks `getppid()`
  and ignores the signal while the broker process lives.
- a thread that polls `getppid()` every 0.2 s (every other platform, and the fallback when the
  main thread cannot run a signal handler).

Must run on CPython 3.6 (CNTK's runner): no f-strings with `=`, no dataclasses.
"""

import os
import shutil
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.2
PARENT_DEATH_SIGNAL = getattr(signal, "SIGUSR1", None)


def set_parent_death_signal(signum):
    """Ask Linux to send `signum` to this process when its parent exits. False where it cannot."""
    if not sys.platform.startswith("linux") or signum is None:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError, TypeError):
        return False


def remove_dirs(dirs):
    for d in dirs:
        if d:
            shutil.rmtree(d, ignore_errors=True)


def exit_now(dirs, status, take_children=True):
    """Remove `dirs`, flush, and leave at once: worker threads busy with a call are not waited for.
    With `take_children`, a runner that leads its own process group (the broker starts it so)
    kills the group: itself and anything it started."""
    remove_dirs(dirs)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if take_children and hasattr(os, "getpgrp") and os.getpgrp() == os.getpid():
        try:
            os.killpg(os.getpid(), signal.SIGKILL)  # this process and what it started
        except OSError:
            pass
    os._exit(status)


class ParentWatch(object):
    """Exits the process (removing `dirs()`) as soon as the parent `parent_pid` is gone."""

    def __init__(self, parent_pid, dirs):
        self.parent_pid = parent_pid
        self.dirs = dirs  # a callable: the directories to remove then

    def parent_gone(self):
        return os.getppid() != self.parent_pid

    def orphaned(self):
        sys.stderr.write("broker exited; runner stopping now\n")
        exit_now(self.dirs(), 1)

    def _on_signal(self, signum, frame):
        if self.parent_gone():
            self.orphaned()

    def _poll(self):
        while True:
            if self.parent_gone():
                self.orphaned()
            time.sleep(POLL_SECONDS)

    def start(self):
        if PARENT_DEATH_SIGNAL is not None:
            signal.signal(PARENT_DEATH_SIGNAL, self._on_signal)
            set_parent_death_signal(PARENT_DEATH_SIGNAL)
        if self.parent_gone():  # the broker died before the request to be told was made
            self.orphaned()
        t = threading.Thread(target=self._poll, name="parent-watch")
        t.daemon = True
        t.start()
        return self

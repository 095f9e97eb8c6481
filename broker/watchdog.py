"""A small process that cleans up after this broker process when it dies, however it dies.

SIGKILL gives the broker no chance to stop its runners and installers or to remove its temporary
folders, so a second process does it: started on first need, in its own session (a terminal's
Ctrl-C does not reach it), it reads lines on a pipe from the broker:

    +dir PATH / -dir PATH      a folder to remove if the broker dies / no longer
    +pg PGID  / -pg PGID       a process group to kill if the broker dies / no longer

and when the pipe closes (the broker exited, normally or not) it sends SIGTERM to the groups
still registered, SIGKILL to what is left after a second, removes the folders and exits. After a
normal exit nothing is registered any more and it just exits. This is the pattern of Python's
`multiprocessing.resource_tracker` (which handles semaphores and shared memory, not folders or
processes, so it cannot be reused here).

The file is also the watchdog's program: `python -I -S watchdog.py` (standard library only).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

GRACE_SECONDS = 1.0


# -- the watchdog process ---------------------------------------------------------------------
def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _live_member(pgid) if os.path.isdir("/proc") else True


def _live_member(pgid: int) -> bool:
    """Whether a process of group `pgid` runs (a zombie does not: the orphans' reaper, pid 1 or a
    subreaper, may take its time to collect it)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _signal_groups(groups: set[int], signum: int) -> None:
    for pgid in groups:
        try:
            os.killpg(pgid, signum)
        except OSError:
            pass


def clean_up(groups: set[int], dirs: set[str]) -> None:
    """Stop the process groups (SIGTERM, then SIGKILL after GRACE_SECONDS), then remove the folders."""
    _signal_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
        time.sleep(0.05)
    _signal_groups({g for g in groups if _group_alive(g)}, signal.SIGKILL)
    for d in sorted(dirs, key=len, reverse=True):
        shutil.rmtree(d, ignore_errors=True)


def serve(stream: IO[str]) -> None:
    groups: set[int] = set()
    dirs: set[str] = set()
    for line in stream:
        op, _, arg = line.rstrip("\n").partition(" ")
        if op == "+dir":
            dirs.add(arg)
        elif op == "-dir":
            dirs.discard(arg)
        elif op in ("+pg", "-pg") and arg.isdigit() and int(arg) > 1:
            (groups.add if op == "+pg" else groups.discard)(int(arg))
    clean_up(groups, dirs)


# -- the broker's side ------------------------------------------------------------------------
class Watchdog:
    """The broker's handle on its watchdog; every method is a no-op once the watchdog cannot run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._pid = 0  # the broker process that started it (a forked child must start its own)
        self._failed = False

    def _pipe(self) -> IO[str] | None:
        if self._failed:
            return None
        if self._proc is None or self._pid != os.getpid():
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(Path(__file__).resolve())],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            except OSError:
                self._failed = True  # cleanup then rests on the broker alone
                return None
            self._pid = os.getpid()
        return self._proc.stdin

    def _send(self, line: str) -> None:
        if "\n" in line:
            return
        with self._lock:
            pipe = self._pipe()
            if pipe is None:
                return
            try:
                pipe.write(line + "\n")
                pipe.flush()
            except (OSError, ValueError):
                self._failed = True

    def add_dir(self, path: Path | str) -> None:
        self._send(f"+dir {path}")

    def forget_dir(self, path: Path | str) -> None:
        if self._proc is not None:
            self._send(f"-dir {path}")

    def add_group(self, pgid: int) -> None:
        self._send(f"+pg {pgid}")

    def forget_group(self, pgid: int) -> None:
        if self._proc is not None:
            self._send(f"-pg {pgid}")


WATCHDOG = Watchdog()


if __name__ == "__main__":
    for _sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(_sig, signal.SIG_IGN)  # only the pipe's end stops the watchdog
    serve(sys.stdin)

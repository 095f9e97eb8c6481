"""Process and folder checks for the tests of what a broker leaves when it ends (Linux /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def default_signals() -> None:
    """A `preexec_fn` for a broker under test: whatever this process ignores, it handles them."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # state ppid pgrp ...
    except (OSError, IndexError):
        return None


def running(pid: int) -> bool:
    """Whether `pid` runs. A zombie has ended: the orphans' reaper (pid 1 here) collects it when it likes."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(root: int) -> set[int]:
    """Every process below `root`, at this moment."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def assert_nothing_left(pids: Iterable[int], folder: Path | None, seconds: float = 2.0) -> None:
    """No process of `pids` runs and `folder` is empty, `seconds` after the broker ended at most
    (the issue's target: two seconds). Whatever is left is killed, then the test fails."""
    pids = set(pids)

    def clean() -> bool:
        return not any(running(p) for p in pids) and (folder is None or not any(folder.iterdir()))

    ok = wait_for(clean, seconds)
    alive = {p: cmdline(p) for p in pids if running(p)}
    left = sorted(p.name for p in folder.iterdir()) if folder is not None else []
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert ok, f"{seconds} s after the broker ended: still running {alive}, still there {left}"


@contextmanager
def lock_held_elsewhere(lock_file: Path, seconds: float = 30.0) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the file lock `lock_file` (for `seconds` at most) inside the block."""
    code = (
        "import filelock, sys, time\nl = filelock.FileLock(sys.argv[1]); l.acquire()\n"
        "print('locked', flush=True); time.sleep(float(sys.argv[2]))"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(lock_file), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def peak_memory(argv: list[str], **kwargs) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    """Run `argv` to its end; with it, {the first words of a command line: the largest peak resident
    memory (VmHWM, bytes) of the process or one below it that ran it}, read every 50 ms (a peak only
    grows)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    peaks: dict[int, tuple[str, int]] = {}

    def poll() -> None:
        for pid in descendants(proc.pid) | {proc.pid}:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    name = peaks.get(pid, ("", 0))[0] or " ".join(cmdline(pid).split()[:3])
                    peaks[pid] = (name, max(peaks.get(pid, ("", 0))[1], int(line.split()[1]) * 1024))

    reader = threading.Thread(target=lambda: outputs.append(proc.communicate()), daemon=True)
    outputs: list[tuple[str, str]] = []
    reader.start()
    while proc.poll() is None:
        poll()
        time.sleep(0.05)
    reader.join()
    by_command: dict[str, int] = {}
    for name, peak in peaks.values():
        by_command[name] = max(by_command.get(name, 0), peak)
    out, err = outputs[0]
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), by_command


@contextmanager
def private_pool(prefix: str) -> Iterator[Path]:
    """A private warm-runner pool folder with a short path (a socket path must fit in 108 bytes);
    whatever runner is left in it at the end is killed."""
    import json
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        for rec in path.glob("**/record.json"):
            pid = json.loads(rec.read_text())["pid"]
            if running(pid) and str(path) in cmdline(pid):
                os.killpg(pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(path)], check=False)

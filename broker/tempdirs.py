"""The broker's temporary folders: made private, removed when done, however the broker ends.

`make("work")` creates `$TMPDIR/mmbroker-work-<pid>-<random>` (mode 0700) and registers it: it
is removed by `remove()`, at interpreter exit, or by the watchdog process if the broker is killed.
The pid in the name lets a later broker run remove folders whose owner died without its watchdog
(`sweep_stale`: same user only, owner pid no longer running; run once per process on first use).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from .watchdog import WATCHDOG

PREFIX = "mmbroker-"
_NAME = re.compile(r"^mmbroker-[A-Za-z0-9_]+-(?P<pid>[0-9]+)-[A-Za-z0-9_]+$")

_registered: set[Path] = set()
_lock = threading.Lock()
_swept = False


def make(kind: str, *, parent: Path | None = None) -> Path:
    """A new private folder `mmbroker-<kind>-<pid>-<random>`, removed when this process ends."""
    if not _swept:
        sweep_stale()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir=parent))
    os.chmod(path, 0o700)
    with _lock:
        _registered.add(path)
    WATCHDOG.add_dir(path)
    return path


def remove(path: Path | None) -> None:
    if path is None:
        return
    shutil.rmtree(path, ignore_errors=True)
    with _lock:
        known = path in _registered
        _registered.discard(path)
    if known:
        WATCHDOG.forget_dir(path)


def remove_all() -> None:
    with _lock:
        paths = list(_registered)
    for p in paths:
        remove(p)


atexit.register(remove_all)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(root: Path | None = None) -> list[Path]:
    """Folders named by `make` under `root` (default: the temp folder and /tmp, where runner folders
    go when the temp folder's path is too long for a socket) whose owner process is gone, owned by
    this user."""
    if root is None:
        roots = dict.fromkeys([Path(tempfile.gettempdir()).resolve(), Path("/tmp").resolve()])
        return [p for r in roots for p in stale(r)]
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    uid = os.getuid()
    for e in entries:
        m = _NAME.match(e.name)
        if m is None:
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if e.is_dir(follow_symlinks=False) and st.st_uid == uid and not _pid_running(int(m["pid"])):
            found.append(Path(e.path))
    return found


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove the stale folders (see `stale`); returns what was removed."""
    global _swept
    _swept = True
    removed = stale(root)
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed

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


# -- warm runners -----------------------------------------------------------------------------
# A warm runner (`--warm`) outlives the command that started it: it is no longer tied to its
# parent. It serves one broker at a time (the broker holds an flock on the runner's `lease`
# file for its whole command), leaves when it has been idle for `--idle-timeout` seconds with no
# lease held, and still dies with a broker that is killed while one of its calls is running:
# every call names its broker's pid (gRPC metadata CLIENT_PID_KEY) and is watched like a parent.

CLIENT_PID_KEY = "mmbroker-client-pid"


def pid_alive(pid):
    """Whether process `pid` runs (a zombie, killed but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return getattr(exc, "errno", None) == 1  # EPERM: it exists, owned by someone else
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class CallWatch(object):
    """While a call runs, exit the process (removing `dirs()`) the moment its broker is gone."""

    def __init__(self, dirs, stamp=None):
        self.dirs = dirs
        self.stamp = stamp  # a file whose mtime says when the last call ended (`mmbroker runners`)
        self._lock = threading.Lock()
        self._calls = {}  # call id -> broker pid
        self._next = 0
        self.last_activity = time.time()
        t = threading.Thread(target=self._poll, name="call-watch")
        t.daemon = True
        t.start()

    def begin(self, client_pid):
        with self._lock:
            self._next += 1
            self._calls[self._next] = client_pid
            return self._next

    def end(self, call_id):
        with self._lock:
            self._calls.pop(call_id, None)
            self.last_activity = time.time()
        if self.stamp and os.path.exists(self.stamp):
            try:
                os.utime(self.stamp, None)
            except OSError:
                pass

    def busy(self):
        with self._lock:
            return bool(self._calls)

    def busy_except(self, call_id):
        """Whether a call other than `call_id` runs (a health check beside a conversion)."""
        with self._lock:
            return any(k != call_id for k in self._calls)

    def _poll(self):
        while True:
            with self._lock:
                pids = set(self._calls.values())
            for pid in pids:
                if pid and not pid_alive(pid):
                    sys.stderr.write("broker %d died during a call; runner stopping now\n" % pid)
                    exit_now(self.dirs(), 1)
            time.sleep(POLL_SECONDS)


def try_lock(path):
    """An open file holding an exclusive flock on `path`, or None when another process holds it."""
    import fcntl

    f = open(path, "a")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def clear_folder(path):
    """Remove what is inside `path` (a warm runner's $TMPDIR between two calls)."""
    if not path or not os.path.isdir(path):
        return
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        else:
            try:
                os.unlink(full)
            except OSError:
                pass


def idle_wait(stop_event, watch, lease_path, home_dir, idle_timeout):
    """A warm runner's main loop: returns when it should leave, holding the lease then (so no
    broker takes it while it goes): idle longer than `idle_timeout` with no broker holding the
    lease, asked to retire (a `retire` file in `home_dir`), its folder removed, or `stop_event`."""
    while not stop_event.wait(0.5):
        if not os.path.isdir(home_dir):
            return None
        retire = os.path.exists(os.path.join(home_dir, "retire"))
        if watch.busy() or (not retire and time.time() - watch.last_activity < idle_timeout):
            continue
        held = try_lock(lease_path)
        if held is not None:
            return held
    return try_lock(lease_path)

"""Warm runners: a runner that outlives the command that started it, for the next command to reuse.

Framework imports are most of a cold conversion (TensorFlow 5-9 s, torch ~5 s, MXNet 3.5 s), and
a user who converts one model to three targets, or runs `compare --layers` again and again, would
pay them every time. So a runner started by one command stays up, idle, for a while
(`MMBROKER_WARM_IDLE` seconds, default 300) and the next command that needs the same
environment takes it over. `MMBROKER_KEEP_WARM=0` or `--cold` turns this off.

Where and whose. Each warm runner has a folder `mmbroker-<fw>-<random>` in the pool
(`$MMBROKER_HOME/runners`, or `MMBROKER_WARM_DIR`): mode 0700 like the pool itself, which must be
owned by this user and closed to others, else nothing is kept warm. It holds the runner's socket,
its $TMPDIR, `record.json` (framework, pid, the match key, protocol, log) and the `lease` file.

Who may use one. Only a runner whose match key equals the command's: the environment's key and
path, the marker of its build (a rebuilt environment is never served by a runner of the old
one), the runner code's files (size and mtime of runners/common and runners/<fw>, and where they
are), the interpreter and the protocol version.

One command at a time. A broker takes a runner by holding an exclusive flock on its `lease` for
the whole command; the kernel releases it when the broker exits, however it exits. A runner whose
lease is held is busy: a second command starts its own runner instead of waiting. At the end of a
command the lease is released, or the runner is retired (stopped) when a call on it failed or was
interrupted, when the pool already has an idle runner of the same key, or when `mmbroker runners
stop` asked it to go.

Detection. Before use, a runner's pid must be alive and its health service must answer within
HEALTH_SECONDS; a dead runner's folder is removed, a hung one is killed (its process group), and
the command starts a new one: never waited on.

Lifetime (runners/common/lifetime.py). A warm runner is not tied to its parent. It leaves by
itself after the idle timeout, when no broker holds its lease, removing its folder. Every call
names the broker's pid, and a runner whose broker dies while one of its calls runs exits at once
(its state is then unknown), as a cold runner does; the broker also registers the runner's process
group with its watchdog for the length of each call, and its folder and group while it starts.
Between two calls the runner's $TMPDIR is emptied, and each request works in the workspace of the
command that sent it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc

from runners.common import lifetime, rpc

from . import paths
from .supervisor import SOCKET_PATH_MAX, RunnerProcess, _live, _live_lock
from .watchdog import WATCHDOG

RECORD = "record.json"
LEASE = "lease"
RETIRE = "retire"
HEALTH_SECONDS = 3.0
DEFAULT_IDLE_SECONDS = 300.0


def enabled() -> bool:
    return os.environ.get("MMBROKER_KEEP_WARM", "1").strip().lower() not in ("0", "false", "no", "off")


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("MMBROKER_WARM_IDLE", DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def pool_root() -> Path:
    return Path(os.environ.get("MMBROKER_WARM_DIR") or paths.home() / "runners")


def pool_dir(create: bool = True) -> Path | None:
    """The pool folder, private to this user (0700, owned by us), or None when it cannot be."""
    root = pool_root()
    try:
        if create:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = root.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return None
    if st.st_mode & 0o077:
        try:
            os.chmod(root, 0o700)
        except OSError:
            return None
    return root


def _code_stamp(framework: str) -> str:
    """Where the runner code is and the size and mtime of each of its files: a changed runner is
    a different runner."""
    h = hashlib.sha256(str(paths.runners_dir()).encode())
    for part in ("common", framework):
        base = paths.runners_dir() / part
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".log")):
                    continue
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                h.update(f"{os.path.relpath(os.path.join(root, name), base)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


# environment variables that change what a runner does (threads, devices, framework flags, test
# hooks): a runner started under other values is another runner
_RUNNER_VARS = ("MMBROKER_TEST", "OMP_", "GOMP_", "KMP_", "MKL_", "OPENBLAS_", "CUDA_", "TF_", "KERAS_", "TORCH",
                "PYTORCH_", "MXNET_", "LD_LIBRARY_PATH", "PYTHONHASHSEED")  # fmt: skip


def match_key(framework: str, python: str | Path, env_key: str = "", env_dir: Path | None = None) -> str:
    """What a warm runner must have been started with to serve this command."""
    from .envs.marker import MARKER

    marker = ""
    if env_dir is not None:
        try:
            st = (env_dir / MARKER).stat()
            marker = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            marker = "missing"
    variables = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(_RUNNER_VARS))
    parts = [framework, str(python), env_key, str(env_dir or ""), marker, _code_stamp(framework),
             str(rpc.PROTOCOL_VERSION), *variables]  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@dataclass
class Record:
    framework: str
    pid: int
    match: str
    protocol: int
    socket: str
    log: str
    python: str
    env: str
    started: float
    idle_timeout: float

    @classmethod
    def read(cls, folder: Path) -> Record | None:
        try:
            data = json.loads((folder / RECORD).read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        tmp = folder / (RECORD + ".part")
        tmp.write_text(json.dumps(self.__dict__, sort_keys=True) + "\n")
        os.replace(tmp, folder / RECORD)


def _try_lease(folder: Path) -> IO[str] | None:
    try:
        return lifetime.try_lock(str(folder / LEASE))
    except OSError:
        return None


def _is_runner(pid: int, folder: Path) -> bool:
    """Whether `pid` is still the runner of `folder` (and not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return lifetime.pid_alive(pid) and not Path("/proc").is_dir()
    return str(folder).encode() in cmdline


def _kill(pid: int, folder: Path) -> None:
    """SIGKILL a runner's process group (itself and what it started), if it is still that runner."""
    if _is_runner(pid, folder):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


class WarmRunner(RunnerProcess):
    """A runner in the pool, leased by this command: started here, or taken over from the pool."""

    def __init__(self, framework: str, python: str | Path, *, match: str, env_dir: Path | None = None,
                 env: dict[str, str] | None = None, **kw: Any) -> None:  # fmt: skip
        super().__init__(framework, python, env=env, **kw)
        self.match = match
        self.env_path = env_dir
        self.pid = 0
        self.lease: IO[str] | None = None
        self.failed = False  # a call failed or was interrupted: retire it at release
        self.taken_over = False

    # -- started here ----------------------------------------------------------------------
    def _make_rundir(self) -> Path:
        pool = pool_dir()
        assert pool is not None
        folder = Path(os.path.realpath(pool)) / f"mmbroker-{self.framework}-{os.urandom(4).hex()}"
        folder.mkdir(mode=0o700)
        WATCHDOG.add_dir(folder)  # until it has started: a broker killed meanwhile leaves nothing
        self.lease = _try_lease(folder)
        return folder

    def _runner_args(self) -> list[str]:
        return ["--warm", "--idle-timeout", f"{idle_seconds():g}"]

    def start(self) -> WarmRunner:
        super().start()
        assert self.proc is not None and self.rundir is not None and self.log_path is not None
        self.pid = self.proc.pid
        Record(self.framework, self.pid, self.match, rpc.PROTOCOL_VERSION, self.address, str(self.log_path),
               self.python, str(self.env_path or ""), time.time(), idle_seconds()).write(self.rundir)  # fmt: skip
        WATCHDOG.forget_dir(self.rundir)
        WATCHDOG.forget_group(self.pid)  # from now on it outlives this broker, except mid-call
        return self

    # -- taken over ------------------------------------------------------------------------
    @classmethod
    def attach(cls, folder: Path, rec: Record, lease: IO[str]) -> WarmRunner:
        r = cls(rec.framework, rec.python, match=rec.match, env_dir=Path(rec.env) if rec.env else None)
        r.rundir, r.pid, r.lease, r.address, r.log_path = folder, rec.pid, lease, rec.socket, Path(rec.log)
        r.taken_over = True
        r.started_at = time.monotonic()
        r.channel = grpc.insecure_channel("unix:" + rec.socket, options=rpc.GRPC_OPTIONS)
        r.stub = rpc.Stub(r.channel)
        with _live_lock:
            _live.add(r)
        return r

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid > 0 and lifetime.pid_alive(self.pid)

    def health(self) -> bool:
        if self.channel is None:
            return False
        stub = rpc.Stub(self.channel, rpc.HEALTH_SERVICE, rpc.HEALTH_METHODS)
        try:
            resp = stub.Check(rpc.health_pb.HealthCheckRequest(), timeout=HEALTH_SECONDS, wait_for_ready=True)
        except grpc.RpcError:
            return False
        return bool(resp.status == 1)

    # -- calls -----------------------------------------------------------------------------
    def _call_options(self) -> dict[str, Any]:
        return {"metadata": ((lifetime.CLIENT_PID_KEY, str(os.getpid())),)}

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        WATCHDOG.add_group(self.pid)  # a broker killed during the call takes the runner along
        try:
            return super().call(method, request, timeout)
        except BaseException:
            self.failed = True
            raise
        finally:
            WATCHDOG.forget_group(self.pid)

    # -- end -------------------------------------------------------------------------------
    def release(self) -> None:
        """Hand the runner back to the pool, or retire it (see the module's docstring)."""
        folder = self.rundir
        keep = (
            not self.failed
            and folder is not None
            and self.alive()
            and not (folder / RETIRE).exists()
            and (folder / RECORD).exists()
            and not _idle_twin(self)
        )
        if not keep:
            self.stop()
            return
        self._disconnect()
        if self.lease is not None:
            self.lease.close()
            self.lease = None

    def stop(self, grace: float = 3.0) -> None:
        folder, pid = self.rundir, self.pid
        if self.proc is None and pid and folder is not None and self.alive():
            if self.stub is not None:
                try:
                    self.stub.Shutdown(rpc.pb.ShutdownRequest(), timeout=grace)
                except grpc.RpcError:
                    pass
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            _kill(pid, folder)
        super().stop(grace)  # a runner started here: Shutdown -> terminate -> kill, through its Popen
        if self.lease is not None:
            self.lease.close()
            self.lease = None

    def _cleanup_dir(self) -> None:
        if self.rundir is not None:
            WATCHDOG.forget_dir(self.rundir)
            shutil.rmtree(self.rundir, ignore_errors=True)
        self.rundir = None


def _idle_twin(runner: WarmRunner) -> bool:
    """Whether the pool has another idle runner of the same key (one is kept, not two)."""
    for folder, rec in _records(runner.framework):
        if folder == runner.rundir or rec.match != runner.match or not lifetime.pid_alive(rec.pid):
            continue
        lease = _try_lease(folder)
        if lease is not None:
            lease.close()
            return True
    return False


def _records(framework: str | None = None) -> list[tuple[Path, Record]]:
    pool = pool_dir(create=False)
    if pool is None:
        return []
    found = []
    for folder in sorted(pool.glob(f"mmbroker-{framework or '*'}-*")):
        rec = Record.read(folder)
        if rec is not None and (framework is None or rec.framework == framework):
            found.append((folder, rec))
    return found


def sweep() -> None:
    """Remove the folders of runners that are gone (killed outright: SIGKILL leaves the folder),
    and of starts that never finished (no record, no lease holder, older than a start timeout)."""
    pool = pool_dir(create=False)
    if pool is None:
        return
    from .supervisor import START_TIMEOUT

    for folder in pool.glob("mmbroker-*-*"):
        rec = Record.read(folder)
        if rec is not None and lifetime.pid_alive(rec.pid):
            continue
        if rec is None:
            try:
                if time.time() - folder.stat().st_mtime < START_TIMEOUT:
                    continue
            except OSError:
                continue
        lease = _try_lease(folder)
        if lease is not None:  # nobody is starting or using it
            shutil.rmtree(folder, ignore_errors=True)
            lease.close()


def acquire(framework: str, python: str | Path, env_key: str = "", env_dir: Path | None = None) -> WarmRunner | None:
    """An idle warm runner of this environment, leased to this command and checked healthy, or None."""
    if pool_dir() is None:
        return None
    sweep()
    match = match_key(framework, python, env_key, env_dir)
    for folder, rec in _records(framework):
        if rec.match != match or rec.protocol != rpc.PROTOCOL_VERSION:
            continue  # another environment's, another checkout's or a stale one: it idles out
        lease = _try_lease(folder)
        if lease is None:
            continue  # busy with another command
        if Record.read(folder) is None or not lifetime.pid_alive(rec.pid):
            shutil.rmtree(folder, ignore_errors=True)  # it left (or was killed) meanwhile
            lease.close()
            continue
        runner = WarmRunner.attach(folder, rec, lease)
        if runner.health():
            return runner
        _kill(rec.pid, folder)  # hung: replaced, never waited on
        runner.stop(grace=0.5)
    return None


def start(framework: str, python: str | Path, env_key: str = "", env_dir: Path | None = None,
          env: dict[str, str] | None = None) -> WarmRunner | None:  # fmt: skip
    """A new warm runner, leased to this command; None when none can be kept here (no private
    pool folder, or its path too long for a socket)."""
    pool = pool_dir()
    if pool is None:
        return None
    longest = len(str(os.path.realpath(pool))) + len(f"/mmbroker-{framework}-12345678/{framework}-1234567.sock")
    if longest > SOCKET_PATH_MAX:
        return None
    runner = WarmRunner(framework, python, match=match_key(framework, python, env_key, env_dir), env_dir=env_dir,
                        env=env)  # fmt: skip
    return runner.start()


# -- mmbroker runners ---------------------------------------------------------------------------
@dataclass
class Info:
    framework: str
    pid: int
    state: str  # idle, busy, retiring
    memory: int  # resident bytes of its process group
    idle: float  # seconds since its last call ended
    folder: str
    env: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _group_rss(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total


def list_runners() -> list[Info]:
    sweep()
    out = []
    for folder, rec in _records():
        if not lifetime.pid_alive(rec.pid):
            continue
        lease = _try_lease(folder)
        if lease is not None:
            lease.close()
        state = "retiring" if (folder / RETIRE).exists() else "idle" if lease is not None else "busy"
        try:
            idle = max(0.0, time.time() - (folder / RECORD).stat().st_mtime)
        except OSError:
            continue
        out.append(Info(rec.framework, rec.pid, state, _group_rss(rec.pid), idle, str(folder), rec.env))
    return out


def stop_runners(framework: str | None = None, env_dir: Path | None = None) -> list[Info]:
    """Stop the warm runners (of one framework, or one environment): idle ones now, busy ones when
    their command ends. Returns what was stopped or asked to stop."""
    done = []
    for info in list_runners():
        if framework and info.framework != framework:
            continue
        if env_dir is not None and Path(info.env) != env_dir:
            continue
        folder = Path(info.folder)
        lease = _try_lease(folder)
        if lease is None:
            (folder / RETIRE).touch()  # its broker retires it at release, or it leaves when idle
            info.state = "retiring"
            done.append(info)
            continue
        rec = Record.read(folder)
        if rec is not None:
            WarmRunner.attach(folder, rec, lease).stop(grace=2.0)
        else:
            lease.close()
        info.state = "stopped"
        done.append(info)
    return done

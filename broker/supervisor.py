"""Starts runner processes, talks to them over gRPC, and stops them, whatever happens.

A runner is `<env python> -m runners.<fw> --socket-dir DIR`. It prints one handshake line
`MMBROKER|<protocol>|unix|<socket>` on stdout when ready; its stderr goes to a log file whose
tail is put into every error about it. Every call has a deadline; a runner that dies or hangs
becomes a RunnerCrashed error, never a hang, and no child outlives the broker.

Lifetime: the runner gets a private folder (`mmbroker-<fw>-<pid>-*`, its socket and its $TMPDIR)
and leads its own process group; both are registered with the broker's watchdog, so they go
even if the broker is killed. The runner itself exits at once when the broker dies
(runners/common/lifetime.py). `stop()` is Shutdown -> terminate -> kill; `stop_all()` stops
several side by side, also at interpreter exit.

A runner that fails to start or fails with an internal error may be broken by a damaged
environment: the environment's files are then checked (broker.envs.integrity) and a damage is
reported as `env-damaged`, naming the files, instead of as a runner bug.
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc

from runners.common import rpc

from . import paths, tempdirs
from .errors import BrokerError, RunnerCrashed, RunnerFailed
from .watchdog import WATCHDOG

SOCKET_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS
START_TIMEOUT = float(os.environ.get("MMBROKER_START_TIMEOUT", "120"))
CALL_TIMEOUT = float(os.environ.get("MMBROKER_CALL_TIMEOUT", "1800"))
_STRIP_ENV = (
    "PYTHONHOME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "__PYVENV_LAUNCHER__",
    "PIP_REQUIRE_VIRTUALENV",
)

_live: set[RunnerProcess] = set()
_live_lock = threading.Lock()


def stop_all(procs: Iterable[RunnerProcess] | None = None, grace: float = 3.0) -> None:
    """Stop these runners (default: every live one) side by side: each takes a moment to exit."""
    if procs is None:
        with _live_lock:
            procs = list(_live)
    procs = list(procs)
    if len(procs) == 1:
        procs[0].stop(grace)
    elif procs:
        # plain threads: an executor refuses new work once the interpreter has begun to exit, which
        # is when the atexit call below runs
        threads = [threading.Thread(target=p.stop, args=(grace,), daemon=True) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


atexit.register(stop_all)


def child_environment(code_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV}
    env["PYTHONPATH"] = str(code_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    # A check runs the source and the target model at once (pipeline.Session.reference_ahead), each
    # framework with an OpenMP pool as large as the machine; OpenMP's threads spin while they wait
    # for work (GNU OpenMP: up to 3 ms), and two spinning pools on the same cores take turns at a
    # crawl. Waiting threads sleep instead: measured on 2 cores, MXNet ResNet-50 -> PyTorch's check
    # 0.4 s shorter (3.1 s -> 2.7 s for the conversion). But a thread that sleeps at once is woken
    # for every operation of a model run alone (PyTorch ResNet-50 at batch 1: 56 -> 77 ms), so GNU
    # OpenMP's threads spin briefly first (3000 turns, tens of microseconds: the gap between two
    # operations): the cold conversion as fast, the same one again 5 % faster (0.74 -> 0.71 s).
    # The user's setting wins.
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        env["GOMP_SPINCOUNT"] = "3000"
    env.update(extra or {})
    return env


class RunnerProcess:
    """One running runner. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        framework: str,
        python: str | Path,
        *,
        env: dict[str, str] | None = None,
        start_timeout: float = START_TIMEOUT,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self.framework = framework
        self.python = str(python)
        self.extra_env = dict(env or {})
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: Any = None
        self.address = ""
        self.rundir: Path | None = None
        self.log_path: Path | None = None
        self.started_at = 0.0
        self.start_seconds = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> RunnerProcess:
        t0 = time.monotonic()
        with _live_lock:
            _live.add(self)  # from here on, stop_all() and the watchdog cover whatever start() made
        try:
            self.rundir = self._make_rundir()
            code = self.rundir / "code"
            code.mkdir()
            (code / "runners").symlink_to(paths.runners_dir(), target_is_directory=True)
            tmp = self.rundir / "tmp"  # the runner's $TMPDIR: what it leaves there goes with the folder
            tmp.mkdir()
            self._spawn(code, tmp)
            self.address = self._await_handshake()
            self.channel = grpc.insecure_channel("unix:" + self.address, options=rpc.GRPC_OPTIONS)
            self.stub = rpc.Stub(self.channel)
            grpc.channel_ready_future(self.channel).result(timeout=max(1.0, self.start_timeout))
        except BaseException:
            self.stop()
            raise
        self.started_at = time.monotonic()
        self.start_seconds = self.started_at - t0
        return self

    def _make_rundir(self) -> Path:
        return tempdirs.make(self.framework, parent=self._short_parent())  # mode 0700

    def _runner_args(self) -> list[str]:
        """How the runner ends: with this broker (a warm runner says otherwise)."""
        return ["--parent-pid", str(os.getpid())]

    def _short_parent(self) -> Path | None:
        """Where the runner's folder goes: the temp folder, or /tmp when a socket path in it would be
        too long (108 bytes on Linux; the runner names it `<fw>-<pid>.sock`)."""
        longest = (
            len(tempfile.gettempdir()) + 2 * len(self.framework) + len("/mmbroker--1234567-12345678/-1234567.sock")
        )
        return Path("/tmp") if longest > SOCKET_PATH_MAX and Path("/tmp").is_dir() else None

    def _spawn(self, code: Path, tmp: Path) -> None:
        assert self.rundir is not None
        paths.logs_dir().mkdir(parents=True, exist_ok=True)
        self.log_path = paths.logs_dir() / f"{self.framework}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        argv = [self.python, "-m", f"runners.{self.framework}", "--socket-dir", str(self.rundir)]
        with open(self.log_path, "w") as log:
            try:
                self.proc = subprocess.Popen(
                    [*argv, *self._runner_args()],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=child_environment(code, {"TMPDIR": str(tmp), **self.extra_env}),
                    cwd=str(self.rundir),
                    text=True,
                    start_new_session=True,  # its own process group: the watchdog can stop it and its children
                )
            except OSError as exc:
                raise RunnerCrashed(
                    f"cannot start the {self.framework} runner with {self.python}: {exc}",
                    reference="runner-start-failed",
                    framework=self.framework,
                    hint=f"rebuild its environment: mmbroker env setup {self.framework} --force",
                ) from exc
        WATCHDOG.add_group(self.proc.pid)

    def _await_handshake(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self.proc.stdout

        def reader() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True, name=f"{self.framework}-stdout").start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunnerCrashed(
                    f"the {self.framework} runner did not become ready within {self.start_timeout:.0f} s",
                    reference="runner-start-timeout",
                    framework=self.framework,
                    hint=f"see its log {self.log_path}; raise MMBROKER_START_TIMEOUT on a slow machine",
                    context={"stderr": self.stderr_tail()},
                )
            try:
                line = lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait(timeout=5)
                failed = RunnerCrashed(
                    f"the {self.framework} runner exited with status {code} before it was ready" + self._tail_text(),
                    reference="runner-exited-early",
                    framework=self.framework,
                    hint=f"check its environment: mmbroker env doctor {self.framework}",
                )
                raise self._env_damage(failed) or failed
            parts = line.strip().split("|")
            if len(parts) == 4 and parts[0] == rpc.HANDSHAKE_PREFIX and parts[2] == "unix":
                if parts[1] != str(rpc.PROTOCOL_VERSION):
                    raise RunnerCrashed(
                        f"the {self.framework} runner speaks protocol {parts[1]}, the broker {rpc.PROTOCOL_VERSION}",
                        reference="runner-protocol-mismatch",
                        framework=self.framework,
                        hint=f"rebuild its environment: mmbroker env setup {self.framework} --force",
                    )
                return parts[3]
            raise RunnerCrashed(
                f"the {self.framework} runner printed {line.strip()[:200]!r} instead of its handshake line",
                reference="runner-protocol-error",
                framework=self.framework,
                hint="a runner must print only its handshake on stdout; see " + str(self.log_path),
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            if self.stub is not None:
                try:
                    self.stub.Shutdown(rpc.pb.ShutdownRequest(), timeout=grace)
                except grpc.RpcError:
                    pass
            # Not yet waited for, so its process group id cannot have been reused: signal the group,
            # which takes along whatever the runner started.
            for signum in (0, signal.SIGTERM, signal.SIGKILL):
                if signum:
                    try:
                        os.killpg(proc.pid, signum)
                    except OSError:
                        pass
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            WATCHDOG.forget_group(proc.pid)
        self._disconnect()
        self._cleanup_dir()

    def _disconnect(self) -> None:
        """Close this broker's ends (stdout pipe, channel) and forget the runner as live here."""
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.stub = None
        with _live_lock:
            _live.discard(self)

    def _cleanup_dir(self) -> None:
        tempdirs.remove(self.rundir)
        self.rundir = None

    def env_dir(self) -> Path | None:
        """The mmbroker environment this runner's python belongs to (it has a marker), if any."""
        from .envs.marker import MARKER

        env = Path(self.python).parent.parent
        return env if (env / MARKER).is_file() else None

    def _env_damage(self, failure: BrokerError) -> BrokerError | None:
        """An env-damaged error when the runner's environment has lost or changed files, else None."""
        env = self.env_dir()
        if env is None:
            return None
        from .envs.integrity import damaged_error

        return damaged_error(self.framework, env, because=failure)

    def __enter__(self) -> RunnerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- calls -----------------------------------------------------------------------------
    def stderr_tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()

    def _tail_text(self) -> str:
        tail = self.stderr_tail()
        return f"\n--- last lines of its log ({self.log_path}) ---\n{tail}" if tail else ""

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        if not self.alive():
            code = self.proc.returncode if self.proc is not None else None
            raise RunnerCrashed(
                f"the {self.framework} runner is not running (exit status {code})" + self._tail_text(),
                framework=self.framework,
                hint=f"check its environment: mmbroker env doctor {self.framework}",
            )
        deadline = timeout or self.call_timeout
        try:
            return getattr(self.stub, method)(request, timeout=deadline, **self._call_options())
        except grpc.RpcError as err:
            raise self._translate(method, err, deadline) from None

    def _call_options(self) -> dict[str, Any]:
        return {}

    def _translate(self, method: str, err: grpc.RpcError, deadline: float) -> Exception:
        detail = None
        trailing = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
        for key, value in trailing or ():
            if key == rpc.ERROR_METADATA_KEY:
                detail = rpc.pb.ErrorDetail.FromString(value)
        if detail is not None:
            failed = RunnerFailed(
                detail.message,
                reference=detail.reference or "internal-bug",
                hint=detail.hint,
                file=detail.file,
                node=detail.node,
                op=detail.op,
                opset=detail.opset,
                framework=detail.framework or self.framework,
                nodes=list(detail.nodes),
            )
            if detail.reference == "internal-bug":
                failed.debug_detail = self.stderr_tail(40)
                return self._env_damage(failed) or failed
            return failed
        # No structured detail: the process died, hung, or the transport broke.
        time.sleep(0.2)
        code = err.code() if hasattr(err, "code") else None
        if self.proc is not None and self.proc.poll() is not None:
            status = self.proc.returncode
            crashed = RunnerCrashed(
                f"the {self.framework} runner died during {method} (exit status {status})" + self._tail_text(),
                framework=self.framework,
                hint="the framework crashed on this input; the log above says where",
            )
            return self._env_damage(crashed) or crashed
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            self.stop(grace=1.0)
            return RunnerCrashed(
                f"the {self.framework} runner did not answer {method} within {deadline:.0f} s; it was stopped",
                reference="runner-timeout",
                framework=self.framework,
                hint="raise MMBROKER_CALL_TIMEOUT for very large models",
            )
        return RunnerCrashed(
            f"{method} call to the {self.framework} runner failed: "
            f"{code.name if code else '?'} {err.details() if hasattr(err, 'details') else err}",
            framework=self.framework,
        )

    def describe(self) -> Any:
        return self.call("Describe", rpc.pb.DescribeRequest(), timeout=30)

    def health(self) -> bool:
        if self.channel is None:
            return False
        stub = rpc.Stub(self.channel, rpc.HEALTH_SERVICE, rpc.HEALTH_METHODS)
        try:
            resp = stub.Check(rpc.health_pb.HealthCheckRequest(), timeout=5)
        except grpc.RpcError:
            return False
        return bool(resp.status == 1)

"""The supervisor against misbehaving runner processes: no hang, clear errors, no orphan.

These fake runners are tiny Python packages placed in a temporary `runners` folder; they test
process handling only, never numbers."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest
from processes import assert_nothing_left, default_signals, wait_for

from broker import paths, tempdirs
from broker.errors import RunnerCrashed, RunnerFailed
from broker.supervisor import RunnerProcess
from runners.common.rpc import pb

pytestmark = pytest.mark.unit

REAL_RUNNER = """
import sys, time
from runners.common.server import serve, RunnerBase
from runners.common.errors import RunnerError
from runners.common.rpc import pb

class Fake(RunnerBase):
    framework = "{name}"
    def describe(self):
        return pb.DescribeResponse(protocol_version=1, framework=self.framework)
    def infer(self, request):
        if request.options.get("mode") == "sleep":
            time.sleep(60)
        if request.options.get("mode") == "die":
            sys.stderr.write("about to crash\\n"); sys.stderr.flush()
            import os; os._exit(7)
        if request.options.get("mode") == "bug":
            raise ZeroDivisionError("oops")
        raise RunnerError("bad-input", "input 'x' expects shape [1, 3]", node="n1", op="Conv", hint="fix it")
sys.exit(serve(Fake))
"""


@pytest.fixture
def fake_runners(tmp_path, monkeypatch):
    """A runners/ tree with the real common package and fake framework packages."""
    root = tmp_path / "runners"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "common").symlink_to(paths.runners_dir() / "common", target_is_directory=True)

    def make(name: str, main: str) -> str:
        pkg = root / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        (pkg / "__main__.py").write_text(textwrap.dedent(main).replace("{name}", name))
        return name

    monkeypatch.setattr(paths, "runners_dir", lambda: root)
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    return make


def test_handshake_and_structured_error(fake_runners):
    fw = fake_runners("good", REAL_RUNNER)
    with RunnerProcess(fw, sys.executable) as r:
        assert r.health()
        assert r.describe().framework == "good"
        with pytest.raises(RunnerFailed) as e:
            r.call("Infer", pb.InferRequest())
        assert e.value.reference == "bad-input"
        assert e.value.node == "n1" and e.value.op == "Conv" and e.value.hint == "fix it"
        assert "node 'n1' (Conv)" in str(e.value)


def test_internal_error_is_reported_not_hung(fake_runners):
    fw = fake_runners("buggy", REAL_RUNNER)
    with RunnerProcess(fw, sys.executable) as r:
        with pytest.raises(RunnerFailed) as e:
            r.call("Infer", pb.InferRequest(options={"mode": "bug"}))
        assert e.value.reference == "internal-bug"
        assert "ZeroDivisionError" in str(e.value)
        assert r.alive()


def test_runner_killed_mid_call(fake_runners):
    fw = fake_runners("dies", REAL_RUNNER)
    with RunnerProcess(fw, sys.executable, call_timeout=30) as r:
        t0 = time.monotonic()
        with pytest.raises(RunnerCrashed) as e:
            r.call("Infer", pb.InferRequest(options={"mode": "die"}))
        assert time.monotonic() - t0 < 10
        assert "exit status 7" in str(e.value)
        assert "about to crash" in str(e.value)


def test_runner_killed_from_outside_mid_call(fake_runners):
    import threading

    fw = fake_runners("sigkilled", REAL_RUNNER)
    with RunnerProcess(fw, sys.executable, call_timeout=30) as r:
        pid = r.proc.pid
        threading.Timer(1.0, lambda: os.kill(pid, 9)).start()
        t0 = time.monotonic()
        with pytest.raises(RunnerCrashed) as e:
            r.call("Infer", pb.InferRequest(options={"mode": "sleep"}))
        assert time.monotonic() - t0 < 10
        assert "died during Infer" in str(e.value)


def test_deadline_stops_a_hung_runner(fake_runners):
    fw = fake_runners("hangs", REAL_RUNNER)
    r = RunnerProcess(fw, sys.executable, call_timeout=2).start()
    try:
        t0 = time.monotonic()
        with pytest.raises(RunnerCrashed) as e:
            r.call("Infer", pb.InferRequest(options={"mode": "sleep"}))
        assert time.monotonic() - t0 < 10
        assert e.value.reference == "runner-timeout"
        assert not r.alive()
    finally:
        r.stop()


def test_exit_before_ready(fake_runners):
    fw = fake_runners("crashes", "import sys\nsys.stderr.write('ImportError: no module named torch\\n')\nsys.exit(3)\n")
    with pytest.raises(RunnerCrashed) as e:
        RunnerProcess(fw, sys.executable).start()
    assert e.value.reference == "runner-exited-early"
    assert "status 3" in str(e.value) and "no module named torch" in str(e.value)


def test_start_timeout(fake_runners):
    fw = fake_runners("slow", "import time\ntime.sleep(30)\n")
    t0 = time.monotonic()
    with pytest.raises(RunnerCrashed) as e:
        RunnerProcess(fw, sys.executable, start_timeout=1.5).start()
    assert e.value.reference == "runner-start-timeout"
    assert time.monotonic() - t0 < 8


def test_protocol_error(fake_runners):
    fw = fake_runners("chatty", "print('hello there')\nimport time\ntime.sleep(30)\n")
    with pytest.raises(RunnerCrashed) as e:
        RunnerProcess(fw, sys.executable).start()
    assert e.value.reference == "runner-protocol-error"


def test_stop_leaves_no_process_and_no_socket_dir(fake_runners):
    fw = fake_runners("clean", REAL_RUNNER)
    r = RunnerProcess(fw, sys.executable).start()
    pid, rundir = r.proc.pid, r.rundir
    r.stop()
    assert r.proc.poll() is not None
    assert not Path(rundir).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


FAKE_BROKER = """
import sys
from pathlib import Path
from broker import interrupts, paths, tempdirs
from broker.supervisor import RunnerProcess
from broker.watchdog import WATCHDOG
from runners.common.rpc import pb
paths.runners_dir = lambda: Path({runners!r})
if {alone!r}:
    WATCHDOG._failed = True  # the runner's own watch only
interrupts.install()
try:
    work = tempdirs.make("work")
    with RunnerProcess({fw!r}, sys.executable) as r:
        watchdog = WATCHDOG._proc.pid if WATCHDOG._proc is not None else 0
        print(r.proc.pid, watchdog, flush=True)
        r.call("Infer", pb.InferRequest(options={{"mode": "sleep"}}))
except interrupts.Interrupted as exc:  # what the command line does (broker/cli/app.py)
    tempdirs.remove_all()
    print("interrupted by", exc.name, flush=True)
    sys.exit(exc.exit_code)
"""


def start_fake_broker(fake_runners, tmp_path, request, alone=False):
    """A broker process waiting in an Infer call that sleeps; its TMPDIR is a fresh folder."""
    import subprocess
    import tempfile

    fw = fake_runners("busy", REAL_RUNNER)
    tmp = Path(tempfile.mkdtemp(prefix="mmb-test-", dir="/tmp"))  # short: a socket path is at most 108 bytes
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    script = tmp_path / "fake_broker.py"
    script.write_text(textwrap.dedent(FAKE_BROKER.format(runners=str(paths.runners_dir()), alone=alone, fw=fw)))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), TMPDIR=str(tmp))
    broker = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, preexec_fn=default_signals
    )
    runner_pid, watchdog_pid = (int(x) for x in broker.stdout.readline().split())
    time.sleep(0.5)  # the Infer call is in flight
    assert broker.poll() is None
    return broker, [runner_pid] + ([watchdog_pid] if watchdog_pid else []), tmp


@pytest.mark.parametrize("alone", [False, True], ids=["with-watchdog", "runner-alone"])
def test_broker_killed_mid_call_leaves_no_runner_and_no_folder(fake_runners, tmp_path, request, alone):
    """SIGKILL of a broker whose main thread waits in a call: within two seconds the runner is gone
    (it watches its parent, PR_SET_PDEATHSIG on Linux) and so is its folder; with the watchdog,
    the broker's own temp folder and the watchdog go too."""
    broker, pids, tmp = start_fake_broker(fake_runners, tmp_path, request, alone)
    broker.kill()
    broker.wait()
    if alone:  # the runner removes its own folder; the broker's work folder waits for the next run
        assert_nothing_left(pids, None)
        assert wait_for(lambda: [p.name[:14] for p in tmp.iterdir()] == ["mmbroker-work-"], 2.0)
        assert tempdirs.sweep_stale(tmp) and not any(tmp.iterdir())
    else:
        assert_nothing_left(pids, tmp)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_mid_call_stops_runner_and_removes_folders(fake_runners, tmp_path, request, signame):
    """A signal while the main thread waits in a gRPC call unwinds it: the runner is stopped, the
    folders removed, exit status 128 + signal."""
    import signal

    broker, pids, tmp = start_fake_broker(fake_runners, tmp_path, request)
    signum = getattr(signal, signame)
    broker.send_signal(signum)
    out, _ = broker.communicate(timeout=30)
    assert broker.returncode == 128 + signum and out.strip() == f"interrupted by {signame}"
    assert_nothing_left(pids, tmp)


def test_shutdown_does_not_wait_for_a_call_in_flight(fake_runners):
    """Shutdown ends a runner busy in a call by itself (status 0), without terminate or kill."""
    import threading

    fw = fake_runners("busy", REAL_RUNNER)
    r = RunnerProcess(fw, sys.executable, call_timeout=60).start()
    worker = threading.Thread(
        target=lambda: pytest.raises(RunnerCrashed, r.call, "Infer", pb.InferRequest(options={"mode": "sleep"})),
        daemon=True,
    )
    worker.start()
    time.sleep(0.5)
    r.stop()
    assert r.proc.returncode == 0


@pytest.mark.parametrize(
    "given, expected",
    [
        ({}, {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "3000"}),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": None}),
        ({"GOMP_SPINCOUNT": "0"}, {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": "0"}),
    ],
)
def test_runners_openmp_threads_wait_briefly_unless_the_user_says(monkeypatch, tmp_path, given, expected):
    from broker.supervisor import child_environment

    for var in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(var, raising=False)
    for var, value in given.items():
        monkeypatch.setenv(var, value)
    env = child_environment(tmp_path)
    assert {var: env.get(var) for var in expected} == expected

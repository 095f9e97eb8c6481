"""Real environment builds of the onnx runner in a temporary MMBROKER_HOME (about 10-20 s each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import assert_nothing_left, cmdline, descendants, wait_for

from broker import paths
from broker.envs import list_envs, store
from broker.envs.marker import read_marker

pytestmark = pytest.mark.runner

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(paths, "runners_dir", lambda: ROOT / "runners")
    return tmp_path / "home"


def cli(*args: str, home: Path, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMBROKER_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([*CLI, *args], env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=600, **kw)


def test_build_onnx_then_instant(home):
    t0 = time.monotonic()
    h = store.ensure_env("onnx")
    assert h.built and h.reason == "none yet", h
    assert time.monotonic() - t0 < 300
    assert h.versions.get("onnxruntime") and read_marker(h.path) is not None
    describe = json.loads((h.path / "describe.json").read_text())
    assert describe["framework"] == "onnx" and describe["protocol_version"] == 1
    # the renamed environment works, scripts included
    out = subprocess.run(
        [str(h.python), "-c", "import sys, onnxruntime; print(sys.prefix)"], capture_output=True, text=True, check=True
    )
    assert Path(out.stdout.strip()) == h.path

    r = cli("env", "list", "--json", home=home)
    assert r.returncode == 0, r.stderr
    [env] = json.loads(r.stdout)
    assert env["status"] == "valid" and env["current"] and env["key"] == h.key

    t1 = time.monotonic()
    again = store.ensure_env("onnx")
    assert not again.built and again.path == h.path and time.monotonic() - t1 < 2.0


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_interrupted_build_leaves_no_installer_and_no_folder(home, signame):
    """`env setup --force` ended while uv installs: the installer and what it started stop, the
    temporary environment folder goes (removed by the broker on SIGTERM, by its watchdog on
    SIGKILL), and the next setup finds nothing to clear."""
    assert store.ensure_env("onnx").built
    envs = home / "envs"
    proc = subprocess.Popen(
        [*CLI, "env", "setup", "onnx", "--force"],
        env={**os.environ, "MMBROKER_HOME": str(home)},
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started: set[int] = set()
    try:

        def installing() -> bool:
            started.update(p for p in descendants(proc.pid) if " pip install " in cmdline(p))
            return bool(started) and any((p / "bin" / "python").exists() for p in envs.glob(".tmp-onnx-*"))

        assert wait_for(installing, 120), "the build never reached the installer"
        started |= descendants(proc.pid)
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if signame == "SIGTERM":
        assert proc.returncode == 143 and "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith("interrupted by SIGTERM")
    assert_nothing_left(started, None)
    # removing a 200 MB folder takes a few seconds on a slow disk
    ok = wait_for(lambda: not list(envs.glob(".tmp-*")) and not list(envs.glob(".trash-*")), 30)
    assert ok, sorted(p.name for p in envs.iterdir())
    assert [i.status for i in list_envs(sizes=False)] == ["valid"]
    r = cli("env", "setup", "onnx", home=home)
    assert r.returncode == 0 and "up to date" in r.stderr and "left by an interrupted" not in r.stderr, r.stderr

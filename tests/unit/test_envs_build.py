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


def test_interrupted_build_is_detected_and_rebuilt(home):
    envs = home / "envs"
    proc = subprocess.Popen(
        [*CLI, "env", "setup", "onnx"],
        env={**os.environ, "MMBROKER_HOME": str(home)},
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        partial: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p for p in envs.glob(".tmp-onnx-*") if (p / "bin" / "python").exists()] if envs.is_dir() else []
            if partial:
                break
            time.sleep(0.05)
        assert partial, "the build never created its temporary directory"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert partial[0].exists()
    assert [i.status for i in list_envs(sizes=False)] == ["incomplete"]
    assert store.find_env("onnx") is None

    h = store.ensure_env("onnx")
    assert h.built and h.reason == "previous build was interrupted"
    assert not partial[0].exists() and [i.status for i in list_envs(sizes=False)] == ["valid"]

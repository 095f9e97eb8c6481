"""The command line against signals and damaged environments, with the real onnx runner in a
private MMBROKER_HOME (its environment builds in seconds from the local wheels).

- `mmbroker infer` / `convert` killed or signalled while a runner is busy in a call
  (`MMBROKER_TEST_HANG`, read only by runners/common/server.py): exit status 128 + signal with one
  line and no traceback, and two seconds after the broker ended no process it started runs and its
  temp folder is empty;
- a module or a shared library deleted from the environment: `env list` says damaged, `env doctor`
  names the file, `infer` reports env-damaged (module) or repairs it (shared library), `env setup`
  repairs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from processes import assert_nothing_left, cmdline, default_signals, descendants, wait_for

pytestmark = [pytest.mark.runner, pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("onnx-home")
    r = cli("env", "setup", "onnx", home=home)
    assert r.returncode == 0, r.stderr
    return home


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.RandomState(0).rand(4, 4).astype("float32"), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [w],
    )
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


@pytest.fixture
def tmpdir_short(request):
    """A private TMPDIR with a short path (a runner's socket path must fit in 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="mmb-test-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MMBROKER_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def cli(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=cli_env(home, **extra), cwd=str(ROOT), capture_output=True, text=True, timeout=600
    )


# -- processes ------------------------------------------------------------------------------------
COMMANDS = {
    "infer": lambda model, out: ["infer", str(model)],
    "convert": lambda model, out: ["convert", "-sf", "onnx", "-in", str(model), "-df", "onnx", "-om", str(out)],
}


@pytest.mark.parametrize("command", ["infer", "convert"])
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"])
def test_broker_ended_mid_call_leaves_nothing(home, model, tmpdir_short, tmp_path, command, signame):
    hang = "infer" if command == "infer" else "parse"
    proc = subprocess.Popen(
        [*CLI, *COMMANDS[command](model, tmp_path / "out.onnx")],
        env=cli_env(home, TMPDIR=str(tmpdir_short), MMBROKER_TEST_HANG=hang),
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # whatever this test process ignores, the command handles them
    )
    try:
        # busy: the runner has started (its folder holds its socket) and the call is made
        assert wait_for(lambda: any(tmpdir_short.glob("mmbroker-onnx-*/*.sock")), 60), "the runner never started"
        time.sleep(1.0)
        started = descendants(proc.pid)
        assert proc.poll() is None and any("runners.onnx" in cmdline(p) for p in started)
        signum = getattr(signal, signame)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (-signal.SIGKILL if signame == "SIGKILL" else 128 + signum), err
    if signame != "SIGKILL":
        assert err.strip().splitlines()[-1] == f"interrupted by {signame}: runners stopped, temporary files removed"
        assert "Traceback" not in err
    assert_nothing_left(started, tmpdir_short)
    assert not (tmp_path / "out.onnx").exists()


# -- damaged environments ---------------------------------------------------------------------------
def _env_dir(home: Path) -> Path:
    [env] = [p for p in (home / "envs").iterdir() if p.name.startswith("onnx-")]
    return env


def _site(home: Path) -> Path:
    [site] = _env_dir(home).glob("lib/python*/site-packages")
    return site


def test_deleted_module_is_named_and_repaired_by_setup(home, model, tmpdir_short):
    (_site(home) / "onnx" / "helper.py").unlink()
    named = "onnx/helper.py (module onnx.helper) is missing"

    r = cli("env", "list", "--json", home=home)
    [row] = json.loads(r.stdout)
    assert row["status"] == "damaged" and named in row["problems"], r.stdout

    r = cli("env", "doctor", "onnx", home=home)
    assert r.returncode == 1 and named in r.stdout and "mmbroker env setup onnx --force" in r.stdout, r.stdout

    r = cli("infer", str(model), home=home, TMPDIR=str(tmpdir_short))
    assert r.returncode == 1 and "error[env-damaged]" in r.stderr and named in r.stderr, r.stderr
    assert "hint: rebuild it: mmbroker env setup onnx --force" in r.stderr and "Traceback" not in r.stderr

    r = cli("env", "setup", "onnx", home=home)
    assert r.returncode == 0 and f"building onnx environment: damaged: {named}" in r.stderr, r.stderr
    [row] = json.loads(cli("env", "list", "--json", home=home).stdout)
    assert row["status"] == "valid" and row["current"]
    assert cli("env", "doctor", "onnx", home=home).returncode == 0
    assert not any(tmpdir_short.iterdir())


def test_deleted_shared_library_is_repaired_before_use(home, model, tmpdir_short):
    [lib] = sorted((_site(home) / "onnxruntime" / "capi").glob("onnxruntime_pybind11_state*.so"))
    lib.unlink()
    r = cli("infer", str(model), home=home, TMPDIR=str(tmpdir_short))
    assert r.returncode == 0, r.stderr
    assert f"building onnx environment: damaged: onnxruntime/capi/{lib.name} (shared library) is missing" in r.stderr
    assert lib.exists()

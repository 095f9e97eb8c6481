"""Warm runners across commands (broker/warm.py), with the real onnx runner: each test has its own
pool folder (MMBROKER_WARM_DIR) and uses the onnx environment of $MMBROKER_HOME.

A runner is reused by the next command (same pid), not reused once its environment was rebuilt,
replaced after SIGKILL and after a hang (health deadline) without being waited on, stopped by
`mmbroker runners stop`, gone after its idle timeout, taken along by a broker killed in the middle
of one of its calls, and two commands at once both finish (the second gets its own runner)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from processes import default_signals, private_pool, running, wait_for

pytestmark = [pytest.mark.runner, pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]


@pytest.fixture(scope="module")
def onnx_env(env_or_skip):
    return env_or_skip("onnx")


@pytest.fixture
def pool():
    with private_pool("mmb-warm-") as path:
        yield path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import numpy as np
    import onnx
    from helpers import onnx_model
    from onnx import helper

    weight = np.random.RandomState(0).rand(4, 4)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(onnx_model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [1, 4])], [("y", [1, 4])],
                         [("w", weight)]), str(path))  # fmt: skip
    return path


def env(pool: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MMBROKER_KEEP_WARM": "1", "MMBROKER_WARM_DIR": str(pool), "NO_COLOR": "1", **extra}


def cli(pool: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env(pool, **extra), cwd=str(ROOT), capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def infer(pool: Path, model: Path, **extra: str) -> None:
    r = cli(pool, "infer", str(model), **extra)
    assert r.returncode == 0, r.stderr


def warm(pool: Path) -> list[dict]:
    r = cli(pool, "runners", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def only_pid(pool: Path) -> int:
    found = warm(pool)
    assert len(found) == 1 and found[0]["framework"] == "onnx", found
    return found[0]["pid"]


def test_reused_by_the_next_command(onnx_env, pool, model):
    infer(pool, model)
    first = only_pid(pool)
    infer(pool, model)
    assert only_pid(pool) == first
    [info] = warm(pool)
    assert info["state"] == "idle" and info["memory"] > 0 and (pool.stat().st_mode & 0o777) == 0o700


def test_not_reused_after_its_environment_is_rebuilt(onnx_env, pool, model):
    from broker.envs.marker import read_marker, write_marker

    infer(pool, model)
    first = only_pid(pool)
    write_marker(onnx_env.path, read_marker(onnx_env.path) or {})  # what a build writes last: a new marker
    infer(pool, model)
    pids = {i["pid"] for i in warm(pool)}
    assert first not in pids or len(pids) == 2, pids
    assert any(p != first for p in pids)


def test_replaced_after_sigkill(onnx_env, pool, model):
    infer(pool, model)
    first = only_pid(pool)
    os.killpg(first, signal.SIGKILL)
    assert wait_for(lambda: not running(first), 10)
    infer(pool, model)
    assert only_pid(pool) != first
    assert len(list(pool.glob("mmbroker-onnx-*"))) == 1  # the killed runner's folder was removed


def test_replaced_after_a_hang_without_waiting(onnx_env, pool, model):
    infer(pool, model)
    first = only_pid(pool)
    os.kill(first, signal.SIGSTOP)  # hangs: its health service cannot answer
    try:
        infer(pool, model)
        assert wait_for(lambda: not running(first), 10), "the hung runner was left running"
        assert only_pid(pool) != first
    finally:
        if running(first):
            os.killpg(first, signal.SIGKILL)


def test_runners_stop(onnx_env, pool, model):
    infer(pool, model)
    first = only_pid(pool)
    r = cli(pool, "runners", "stop")
    assert r.returncode == 0 and "stopped" in r.stderr, r.stderr
    assert wait_for(lambda: not running(first), 5)
    assert warm(pool) == [] and not list(pool.glob("mmbroker-*"))


def test_idles_out(onnx_env, pool, model):
    infer(pool, model, MMBROKER_WARM_IDLE="2")
    [rec] = pool.glob("mmbroker-onnx-*/record.json")  # read at once: `runners` may take longer than 2 s here
    first = json.loads(rec.read_text())["pid"]
    assert wait_for(lambda: not running(first), 30), "the runner did not leave after its idle timeout"
    assert wait_for(lambda: not list(pool.glob("mmbroker-*")), 5)


def test_two_commands_at_once_both_finish(onnx_env, pool, model):
    procs = [
        subprocess.Popen(
            [*CLI, "infer", str(model)],
            env=env(pool),
            cwd=str(ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert 1 <= len(warm(pool)) <= 2


def test_a_broker_killed_mid_call_takes_its_warm_runner_along(onnx_env, pool, model):
    proc = subprocess.Popen([*CLI, "infer", str(model)], env=env(pool, MMBROKER_TEST_HANG="infer"), cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_signals)  # fmt: skip
    try:
        assert wait_for(lambda: any(pool.glob("mmbroker-onnx-*/record.json")), 120), "the runner never started"
        [rec] = pool.glob("mmbroker-onnx-*/record.json")
        pid, log = json.loads(rec.read_text())["pid"], Path(json.loads(rec.read_text())["log"])
        assert wait_for(lambda: "infer sleeps" in log.read_text(errors="replace"), 120), "no Infer call came"
        assert running(pid)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_for(lambda: not running(pid), 2.0), "the warm runner outlived the broker killed during its call"


def test_a_second_parse_of_the_same_model_comes_from_the_cache(onnx_env, model, tmp_path, monkeypatch):
    from broker.pipeline import Session

    monkeypatch.setenv("MMBROKER_IR_CACHE_DIR", str(tmp_path / "ircache"))
    made = []
    for i in range(2):
        with Session(keep_warm=False, ir_cache=True, workspace=tmp_path / f"ws{i}") as s:
            ir = s.toir("onnx", [str(model)])
            made.append((ir.graph.read_bytes(), ir.weights.read_bytes(), "parse" in s.timings, dict(s._runners)))
    assert made[0][2] and made[0][3], "the first conversion parses"
    assert not made[1][2] and not made[1][3], "the second neither parses nor starts the runner"
    assert made[0][:2] == made[1][:2]


def test_the_source_models_outputs_are_kept_for_the_next_check(onnx_env, model, tmp_path, monkeypatch):
    """A second check of the same source on the same inputs compares with the outputs the source
    gave the first time (broker/ircache.py); other inputs run the source again."""
    import numpy as np

    from broker.pipeline import Session

    monkeypatch.setenv("MMBROKER_IR_CACHE_DIR", str(tmp_path / "ircache"))
    x = {"x": np.random.RandomState(1).rand(1, 4).astype(np.float32)}
    engines = []
    for i, inputs in enumerate([x, x, {"x": x["x"] + 1}]):
        with Session(keep_warm=False, ir_cache=True, workspace=tmp_path / f"ws{i}") as s:
            report = s.verify(("onnx", [str(model)]), ("onnx", [str(model)]), inputs)
            assert report.passed
            engines.append(report.reference_engine)
    assert "kept" not in engines[0] and "kept from an earlier run" in engines[1] and "kept" not in engines[2], engines
    with Session(keep_warm=False, ir_cache=False, workspace=tmp_path / "cold") as s:  # --cold runs it
        assert "kept" not in s.verify(("onnx", [str(model)]), ("onnx", [str(model)]), x).reference_engine


def test_the_code_emitted_from_a_cached_ir_is_kept_for_the_next_conversion(onnx_env, model, tmp_path, monkeypatch):
    """A second conversion of the same model to the same target takes the emitted files from the
    cache (no Emit), checks them as the first did and writes the same bytes; the output is a copy
    (a file rewritten in place leaves the cache alone); another name emits again; --cold neither
    reads nor writes the cache."""
    from helpers import run_cli

    monkeypatch.setenv("MMBROKER_IR_CACHE_DIR", str(tmp_path / "ircache"))
    monkeypatch.setenv("MMBROKER_IR_CACHE", "1")
    monkeypatch.setenv("MMBROKER_KEEP_WARM", "0")

    def convert(out: Path, *flags: str) -> dict:
        r = run_cli(*flags, "convert", "-sf", "onnx", "-in", model, "-df", "onnx", "-om", out, "--json")
        assert r.exit_code == 0, r.stderr
        done = json.loads(r.stdout)
        assert done["parity"]["passed"]
        return done["timings"]

    first, second = tmp_path / "a" / "m.onnx", tmp_path / "b" / "m.onnx"
    assert "emit" in convert(first)
    timings = convert(second)
    assert "emit" not in timings and "emit cache" in timings and "infer" in timings, timings
    assert second.read_bytes() == first.read_bytes() and second.stat().st_nlink == 1
    second.write_bytes(b"rewritten in place")
    third = tmp_path / "c" / "m.onnx"
    assert "emit" not in convert(third) and third.read_bytes() == first.read_bytes()
    assert "emit" in convert(tmp_path / "d" / "other.onnx")
    cold = convert(tmp_path / "e" / "m.onnx", "--cold")
    assert "emit" in cold and "emit cache" not in cold


def test_a_conversion_served_from_the_caches_does_not_import_onnx(onnx_env, model, pool, tmp_path):
    """The second conversion of the same model finds its IR, code and reference outputs cached: the
    broker reads the graph's inputs from the IR summary and never imports onnx (50 ms)."""
    script = ("import atexit, sys; atexit.register(lambda: sys.stderr.write("
              "f'onnx imported: {\"onnx\" in sys.modules}\\n')); from broker.cli import main; main()")  # fmt: skip
    extra = {"MMBROKER_IR_CACHE_DIR": str(tmp_path / "ircache"), "MMBROKER_IR_CACHE": "1"}

    def convert(out: Path) -> str:
        r = subprocess.run([sys.executable, "-c", script, "convert", "-sf", "onnx", "-in", str(model), "-df",
                            "onnx", "-om", str(out)], env=env(pool, **extra), cwd=str(ROOT), capture_output=True,
                           text=True, timeout=600)  # fmt: skip
        assert r.returncode == 0 and "parity: PASS" in r.stdout, r.stdout + r.stderr
        return r.stderr

    assert "onnx imported: True" in convert(tmp_path / "a" / "m.onnx")
    assert "onnx imported: False" in convert(tmp_path / "b" / "m.onnx")


def test_a_session_closed_with_a_reference_run_in_flight_leaves_nothing(onnx_env, model, pool, monkeypatch):
    """close() while the source model still runs in the background (a conversion that failed after
    its inputs were made): the thread ends, no runner is left to this session, and the workspace,
    which the thread writes into, is gone."""
    import numpy as np

    from broker.pipeline import Session

    monkeypatch.setenv("MMBROKER_WARM_DIR", str(pool))
    s = Session(keep_warm=True, ir_cache=False).__enter__()
    workspace = s.workspace
    x = {"x": np.random.RandomState(2).rand(1, 4).astype(np.float32)}
    s.reference_ahead(("onnx", [str(model)]), [x, {"x": x["x"] * 2}])
    s.close()
    assert all(not t.is_alive() for _, t in s._ahead_threads)
    assert not s._runners and workspace is not None and not workspace.exists()

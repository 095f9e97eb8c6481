"""A failed run destroys nothing, on real runners (onnx, pytorch): an existing -om keeps its bytes
and mode through every late failure (bad --input, pickled .npz, parity failure, huge input, Ctrl-C
or SIGTERM during the check, a runner killed mid-call), no temporary is left, links are not
followed; free dimensions are verified at the documented sizes; NaN never passes by default."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers import onnx_model, run_cli
from onnx import helper as h

from broker.outputs import STAGING_SUFFIX

pytestmark = pytest.mark.runner

OLD = b"an earlier model, verified"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny ONNX models: fixed and dynamic convs, one whose outputs are half NaN, one whose check
    takes seconds (so a signal reaches it mid-check), one declaring an input too large to make."""
    d = tmp_path_factory.mktemp("models")
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    conv = [h.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])]
    onnx.save(onnx_model(conv, [("x", [1, 3, 8, 8])], ["y"], [("w", w)]), str(d / "good.onnx"))
    onnx.save(onnx_model(conv, [("x", ["N", 3, "H", "W"])], ["y"], [("w", w)]), str(d / "dynamic.onnx"))
    onnx.save(onnx_model([h.make_node("Sqrt", ["x"], ["y"])], [("x", [1, 3, 8, 8])], ["y"]), str(d / "nan.onnx"))
    nodes, prev = [], "x"
    for i in range(30):
        nodes += [h.make_node("MatMul", [prev, "x"], [f"m{i}"]), h.make_node("Tanh", [f"m{i}"], [f"t{i}"])]
        prev = f"t{i}"
    nodes.append(h.make_node("Identity", [prev], ["y"]))
    onnx.save(onnx_model(nodes, [("x", [2048, 2048])], ["y"]), str(d / "slow.onnx"))
    relu = [h.make_node("Relu", ["x"], ["y"])]
    onnx.save(onnx_model(relu, [("x", [1, 3, 100000, 100000])], [("y", [1, 3, 100000, 100000])]), str(d / "huge.onnx"))
    np.save(d / "wrong.npy", np.zeros((1, 4, 8, 8), np.float32))
    np.savez(d / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    return d


def _old_output(path: Path, mode: int = 0o640) -> None:
    path.write_bytes(OLD + path.name.encode())
    os.chmod(path, mode)


def _assert_untouched(*paths: Path, mode: int = 0o640) -> None:
    for p in paths:
        assert not p.is_symlink() and p.read_bytes() == OLD + p.name.encode(), f"{p} was replaced"
        assert stat.S_IMODE(p.stat().st_mode) == mode, f"the mode of {p} changed"
    folder = paths[0].parent
    left = [q.name for q in folder.iterdir() if q.name.endswith(STAGING_SUFFIX) or ".failed" in q.name]
    assert not left, f"left behind: {left}"


LATE_FAILURES = {
    "wrong --input shape": (
        "good.onnx",
        "onnx",
        ["--input", "wrong.npy"],
        ["bad-shape", "[1, 3, 8, 8]", "[1, 4, 8, 8]"],
    ),
    "pickled --input": ("good.onnx", "onnx", ["--input", "pickled.npz"], ["bad-input", "pickled"]),
    "parity failure": ("nan.onnx", "pytorch", [], ["parity: FAIL", "unchanged", "--keep-failed"]),
    "huge declared input": ("huge.onnx", "onnx", [], ["bad-shape", "120,000,000,000 bytes"]),
    "unknown output format": ("good.onnx", "pytorch", [], ["unsupported-format", "unchanged"]),
}


@pytest.mark.parametrize("case", list(LATE_FAILURES))
def test_a_late_failure_keeps_the_existing_output(tmp_path, models, case):
    src, dst, extra, words = LATE_FAILURES[case]
    suffix = ".onnx" if dst == "onnx" or case == "unknown output format" else ".pth"
    out = tmp_path / ("model" + suffix)
    _old_output(out)
    siblings = [tmp_path / "model.py"] if suffix == ".pth" else []
    for s in siblings:
        _old_output(s)
    args = [a if not a.endswith((".npy", ".npz")) else models / a for a in extra]
    r = run_cli("convert", "-sf", "onnx", "-in", models / src, "-df", dst, "-om", out, *args)
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r.stderr
    text = " ".join((r.stdout + r.stderr).split())
    for w in words:
        assert w in text, (w, text)
    _assert_untouched(out, *siblings)


def test_keep_failed_and_allow_nan(tmp_path, models):
    out, code = tmp_path / "model.pth", tmp_path / "model.py"
    _old_output(out)
    _old_output(code)
    r = run_cli("convert", "-sf", "onnx", "-in", models / "nan.onnx", "-df", "pytorch", "-om", out, "--keep-failed")
    assert r.exit_code == 1
    kept = tmp_path / "model.pth.failed"
    assert str(kept) in " ".join(r.stderr.split()) and (kept / "model.pth").exists() and (kept / "model.py").exists()
    assert out.read_bytes() == OLD + b"model.pth" and code.read_bytes() == OLD + b"model.py"
    r = run_cli("convert", "-sf", "onnx", "-in", models / "nan.onnx", "-df", "pytorch", "-om", out, "--allow-nan",
                "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (o,) = json.loads(r.stdout)["parity"]["outputs"]
    assert o["passed"] and o["nonfinite"] == o["reference_nonfinite"] > 0
    assert out.read_bytes() != OLD + b"model.pth" and "class" in code.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 == stat.S_IMODE(code.stat().st_mode), "the old modes are kept"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(STAGING_SUFFIX)]


def test_nan_outputs_fail_compare_and_are_counted_by_infer(models):
    nan = models / "nan.onnx"
    r = run_cli("compare", nan, nan, "--json")
    assert r.exit_code == 1
    (o,) = json.loads(r.stdout)["outputs"]
    assert not o["passed"] and o["nonfinite"] == o["reference_nonfinite"] > 0
    assert run_cli("compare", nan, nan, "--allow-nan").exit_code == 0
    r = run_cli("infer", nan, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["outputs"][0]["nonfinite"] > 0 and "NaN/Inf" in r.stderr


def _convert_in_background(models: Path, out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from broker.cli import main; main()", "convert", "-sf", "onnx", "-in",
           str(models / "slow.onnx"), "-df", "onnx", "-om", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staged = f".{out.name}.*{STAGING_SUFFIX}/{out.name}"
    while not list(out.parent.glob(staged)):  # saved: the check is starting (it takes seconds)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_check_keeps_the_existing_output(tmp_path, models, sig):
    out = tmp_path / "model.onnx"
    _old_output(out)
    proc = _convert_in_background(models, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "unchanged" in err
    _assert_untouched(out)


def test_a_runner_killed_during_the_check_keeps_the_existing_output(tmp_path, models):
    out = tmp_path / "model.onnx"
    _old_output(out)
    proc = _convert_in_background(models, out)
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True)
    assert children.stdout.split(), "no runner process found"
    for pid in children.stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "runner-crashed" in err and "Traceback" not in err, err
    _assert_untouched(out)


def test_a_symlinked_output_is_not_followed(tmp_path, models):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "model.onnx"
    _old_output(target, 0o600)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "model.onnx").symlink_to(target)
    r = run_cli("convert", "-sf", "onnx", "-in", models / "good.onnx", "-df", "onnx", "-om", out_dir / "model.onnx")
    assert r.exit_code == 1 and "output-not-writable" in r.stderr and "symbolic link" in r.stderr
    _assert_untouched(target, mode=0o600)
    assert (out_dir / "model.onnx").is_symlink() and os.listdir(out_dir) == ["model.onnx"]


def test_a_dynamic_model_is_verified_at_the_default_sizes(tmp_path, models):
    report = tmp_path / "report.md"
    out = tmp_path / "dyn.pth"
    r = run_cli("convert", "-sf", "onnx", "-in", models / "dynamic.onnx", "-df", "pytorch", "-om", out, "--json",
                "--report", report)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)["parity"]
    (inp,) = result["inputs"]
    assert inp["shape"] == [1, 3, 224, 224]
    assert [(c["axis"], c["value"]) for c in inp["chosen"]] == [(0, 1), (2, 224), (3, 224)]
    assert all("'H'" in c["reason"] or "'W'" in c["reason"] for c in inp["chosen"][1:])
    assert result["outputs"][0]["shape"] == [1, 4, 224, 224] and result["outputs"][0]["reference_std"] > 0.1
    assert "dim 2 = 224" in report.read_text()
    r = run_cli("convert", "-sf", "onnx", "-in", models / "dynamic.onnx", "-df", "onnx", "-om", tmp_path / "d.onnx",
                "--inputShape", "2,3,40,40")  # fmt: skip
    assert r.exit_code == 0 and "2x4x40x40" in r.stdout, r.stdout


@pytest.mark.parametrize("target", ["pytorch", "mxnet"])
def test_the_output_folder_holds_the_files_written_and_nothing_else(tmp_path, models, monkeypatch, target):
    """The check imports the emitted code, and Python would write its bytecode beside it."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # new runners (--cold) inherit it
    out = tmp_path / "out" / ("m.pth" if target == "pytorch" else "m")
    r = run_cli("--cold", "convert", "-sf", "onnx", "-in", models / "good.onnx", "-df", target, "-om", out)
    assert r.exit_code == 0, r.stderr
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == (["m.pth", "m.py"] if target == "pytorch" else ["m-0000.params", "m-symbol.json"]), written


def test_a_huge_declared_input_is_refused_by_infer_and_compare(models):
    for args in (["infer", models / "huge.onnx"], ["compare", models / "huge.onnx", models / "huge.onnx"]):
        r = run_cli(*args)
        assert r.exit_code == 1 and "Traceback" not in r.stderr and "MemoryError" not in r.stderr
        assert "bad-shape" in r.stderr and "120,000,000,000 bytes" in " ".join(r.stderr.split())


def test_code_dir_written_only_when_the_check_passed(tmp_path, models):
    code = tmp_path / "code"
    code.mkdir()
    _old_output(code / "model.py")
    r = run_cli("convert", "-sf", "onnx", "-in", models / "nan.onnx", "-df", "pytorch", "-om", tmp_path / "model.pth",
                "--code-dir", code)  # fmt: skip
    assert r.exit_code == 1
    assert (code / "model.py").read_bytes() == OLD + b"model.py" and not (tmp_path / "model.pth").exists()
    r = run_cli("convert", "-sf", "onnx", "-in", models / "good.onnx", "-df", "pytorch", "-om", tmp_path / "model.pth",
                "--code-dir", code)  # fmt: skip
    assert r.exit_code == 0 and "class" in (code / "model.py").read_text()


def test_tomodel_replaces_only_after_saving(tmp_path, models):
    code = tmp_path / "code"
    assert run_cli("toir", "-f", "onnx", "-in", models / "good.onnx", "-o", tmp_path / "ir" / "good").exit_code == 0
    assert run_cli("tocode", "-f", "onnx", "-n", tmp_path / "ir" / "good.pb", "-d", code, "--name", "m").exit_code == 0
    out = tmp_path / "m.onnx"
    _old_output(out)
    listing = tmp_path / "listing"
    listing.mkdir()
    (listing / "m.onnx.txt").write_text("not a model")
    r = run_cli("tomodel", "-f", "onnx", "-in", listing, "-o", out)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    _assert_untouched(out)
    r = run_cli("tomodel", "-f", "onnx", "-in", code, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert onnx.load(str(out)).graph.node[0].op_type == "Conv" and stat.S_IMODE(out.stat().st_mode) == 0o640

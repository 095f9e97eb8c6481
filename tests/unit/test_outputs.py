"""Staged outputs without any runner: results put in place all together or not at all, nothing
written through a link, old files keep their bytes and mode on every failure, nothing left over."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from broker.errors import BrokerError
from broker.outputs import STAGING_SUFFIX, StagedOutput, _signals_held, check_output, copy_into

pytestmark = pytest.mark.unit


def _state(folder: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every entry of a folder: (bytes, or link target, or "dir"; mode)."""
    out: dict[str, tuple[bytes | str, int]] = {}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        kind: bytes | str = os.readlink(p) if p.is_symlink() else "dir" if p.is_dir() else p.read_bytes()
        out[str(p.relative_to(folder))] = (kind, stat.S_IMODE(st.st_mode))
    return out


def _no_staging(folder: Path) -> None:
    assert not [p for p in folder.iterdir() if p.name.endswith(STAGING_SUFFIX)], "a temporary folder is left"


@pytest.fixture
def existing(tmp_path):
    """An output folder holding an earlier Caffe pair (mode 0640 and 0604) and a bystander."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "net.prototxt").write_text("old net")
    (out / "net.caffemodel").write_bytes(b"old weights")
    os.chmod(out / "net.prototxt", 0o640)
    os.chmod(out / "net.caffemodel", 0o604)
    (out / "other.txt").write_text("not ours")
    return out


def _save_pair(stage: StagedOutput) -> list[str]:
    """What the Caffe runner does: <prefix>.prototxt and <prefix>.caffemodel beside each other."""
    net = stage.path
    weights = net.with_suffix(".caffemodel")
    net.write_text("new net")
    weights.write_bytes(b"new weights")
    os.chmod(net, 0o600)  # as mkstemp leaves them
    os.chmod(weights, 0o600)
    return stage.saved([str(net), str(weights)])


def test_all_files_promoted_together_with_the_old_modes(existing):
    with StagedOutput(existing / "net.prototxt") as stage:
        saved = _save_pair(stage)
        assert not (existing / "net.prototxt").read_text().startswith("new"), "nothing moves before promote"
        promoted = stage.promote()
    assert sorted(promoted) == sorted(stage.final(f) for f in saved)
    state = _state(existing)
    assert state["net.prototxt"] == (b"new net", 0o640) and state["net.caffemodel"] == (b"new weights", 0o604)
    assert state["other.txt"][0] == b"not ours"
    _no_staging(existing)


def test_new_files_get_the_umask_default_mode(tmp_path):
    old = os.umask(0o027)
    try:
        with StagedOutput(tmp_path / "sub" / "m.onnx") as stage:
            stage.path.write_bytes(b"model")
            os.chmod(stage.path, 0o600)
            stage.saved([str(stage.path)])
            stage.promote()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "m.onnx").st_mode) == 0o640


@pytest.mark.parametrize("keep", [False, True])
def test_a_failure_leaves_the_old_files_and_no_temporary(existing, keep):
    before = _state(existing)
    with pytest.raises(BrokerError) as e:
        with StagedOutput(existing / "net.prototxt", keep_failed=keep) as stage:
            _save_pair(stage)
            raise BrokerError(f"parity failed for {stage.path}", reference="bad-shape", file=str(stage.path))
    assert "net.prototxt is unchanged" in e.value.hint
    assert STAGING_SUFFIX not in str(e.value), "the error names the temporary folder"
    after = _state(existing)
    kept = {k: v for k, v in after.items() if k.startswith("net.prototxt.failed")}
    assert {k: v for k, v in after.items() if k not in kept} == before
    _no_staging(existing)
    if keep:
        assert kept["net.prototxt.failed/net.caffemodel"][0] == b"new weights"
        assert "net.prototxt.failed" in e.value.hint and stage.kept == existing / "net.prototxt.failed"
        with pytest.raises(BrokerError):  # a second failure does not replace the first one kept
            with StagedOutput(existing / "net.prototxt", keep_failed=True) as stage:
                _save_pair(stage)
                raise BrokerError("again")
        assert stage.kept == existing / "net.prototxt.failed-2" and (existing / "net.prototxt.failed").is_dir()
    else:
        assert not kept and "--keep-failed" in e.value.hint


def test_leaving_without_promote_writes_nothing(existing):
    before = _state(existing)
    with StagedOutput(existing / "net.prototxt") as stage:
        _save_pair(stage)
    assert _state(existing) == before and "unchanged" in stage.note
    _no_staging(existing)


def test_folders_made_for_a_failed_run_are_removed(tmp_path):
    with StagedOutput(tmp_path / "a" / "b" / "m.onnx") as stage:
        stage.path.write_bytes(b"m")
        stage.saved([str(stage.path)])
    assert not (tmp_path / "a").exists() and "nothing was written" in stage.note


def test_interrupted_during_the_check(existing):
    before = _state(existing)
    said = []
    with pytest.raises(KeyboardInterrupt):
        with StagedOutput(existing / "net.prototxt", say=said.append) as stage:
            _save_pair(stage)
            raise KeyboardInterrupt
    assert _state(existing) == before and "unchanged" in said[0]
    _no_staging(existing)


def test_sigterm_during_the_check_removes_the_temporary(existing):
    if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        pytest.skip("something else handles SIGTERM in this process")
    before = _state(existing)
    with pytest.raises(SystemExit) as e:
        with StagedOutput(existing / "net.prototxt") as stage:
            _save_pair(stage)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(500):  # the handler runs as soon as the interpreter checks for signals
                time.sleep(0.01)
    assert e.value.code == 128 + signal.SIGTERM
    assert _state(existing) == before and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    _no_staging(existing)


def test_ctrl_c_waits_for_the_renames():
    # a process started in the background by a shell without job control inherits SIGINT ignored,
    # and Python then raises no KeyboardInterrupt: give this test Python's usual handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    done = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with _signals_held():
                os.kill(os.getpid(), signal.SIGINT)
                done.append("renamed")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done == ["renamed"]


def test_a_failed_rename_puts_everything_back(existing, monkeypatch):
    before = _state(existing)
    real = os.rename
    calls = []

    def flaky(a, b):
        calls.append((a, b))
        if len(calls) == 3:  # the first entry is in place; moving the second's old file away fails
            raise OSError(28, "No space left on device")
        return real(a, b)

    with pytest.raises(BrokerError) as e:
        with StagedOutput(existing / "net.prototxt") as stage:
            _save_pair(stage)
            monkeypatch.setattr(os, "rename", flaky)
            stage.promote()
    monkeypatch.undo()
    assert e.value.reference == "output-not-writable" and "No space left" in str(e.value)
    assert _state(existing) == before
    _no_staging(existing)


def test_links_are_never_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "precious.bin"
    target.write_bytes(b"precious")
    os.chmod(target, 0o600)
    out = tmp_path / "out"
    out.mkdir()
    (out / "m.onnx").symlink_to(target)
    with pytest.raises(BrokerError) as e:
        check_output(out / "m.onnx")
    assert e.value.reference == "output-not-writable" and "symbolic link" in str(e.value)
    # a sibling of the result that is a link is replaced as a link, its target untouched
    (out / "net.caffemodel").symlink_to(target)
    with StagedOutput(out / "net.prototxt") as stage:
        _save_pair(stage)
        stage.promote()
    assert not (out / "net.caffemodel").is_symlink() and (out / "net.caffemodel").read_bytes() == b"new weights"
    assert target.read_bytes() == b"precious" and stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_unusable_output_paths_are_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder.onnx").mkdir()
    for path, words in (
        (tmp_path / "file" / "m.onnx", "not a folder"),
        (tmp_path / "folder.onnx", "existing folder"),
        (Path("/proc/m.onnx"), "cannot create files in /proc"),
    ):
        with pytest.raises(BrokerError) as e:
            check_output(path)
        assert e.value.reference == "output-not-writable" and words in str(e.value), str(e.value)
    assert check_output(tmp_path / "new" / "deeper" / "m.onnx") == tmp_path / "new" / "deeper" / "m.onnx"
    assert not (tmp_path / "new").exists(), "the check creates nothing"
    _no_staging(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; /proc stands in above")
def test_read_only_folder_is_refused(tmp_path):
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(BrokerError) as e:
            check_output(tmp_path / "m.onnx")
        assert e.value.reference == "output-not-writable"
    finally:
        os.chmod(tmp_path, 0o700)


def test_folder_outputs_replace_folders(tmp_path):
    old = tmp_path / "m.mlpackage"
    (old / "Data").mkdir(parents=True)
    (old / "Data" / "old.bin").write_bytes(b"old")
    with StagedOutput(old) as stage:
        (stage.path / "Data").mkdir(parents=True)
        (stage.path / "Manifest.json").write_text("{}")
        stage.saved([str(stage.path)])
        stage.promote()
    assert (old / "Manifest.json").exists() and not (old / "Data" / "old.bin").exists()
    # a result file cannot replace a folder: refused, the folder kept
    (tmp_path / "m.onnx.data").mkdir()
    with pytest.raises(BrokerError) as e:
        with StagedOutput(tmp_path / "m.onnx") as stage:
            stage.path.write_bytes(b"m")
            (stage.dir / "m.onnx.data").write_bytes(b"d")
            stage.promote()
    assert e.value.reference == "output-not-writable" and (tmp_path / "m.onnx.data").is_dir()
    assert not (tmp_path / "m.onnx").exists()
    _no_staging(tmp_path)


def test_code_is_copied_without_following_links(tmp_path):
    src = tmp_path / "emit"
    src.mkdir()
    (src / "net.py").write_text("code")
    dest = tmp_path / "code"
    dest.mkdir()
    victim = tmp_path / "victim.py"
    victim.write_text("victim")
    (dest / "net.py").symlink_to(victim)
    assert copy_into([str(src / "net.py")], src, dest) == [str(dest / "net.py")]
    assert (dest / "net.py").read_text() == "code" and not (dest / "net.py").is_symlink()
    assert victim.read_text() == "victim"

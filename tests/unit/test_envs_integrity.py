"""Environments verify their files: hashes recorded from the wheels' RECORD files at build time,
damage named by `env list`/`env doctor`, repaired by `ensure_env`/`env setup`; leftovers of
interrupted builds removed. Builds here are fakes that install one tiny distribution, `fakepkg`
(a package with a submodule, an extension module, a stale RECORD line and a script in bin/)."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pytest
from processes import lock_held_elsewhere

from broker import paths
from broker.envs import build, diagnosis, integrity, store
from broker.envs.interpreters import Interpreter
from broker.envs.marker import MARKER, read_marker, write_marker

pytestmark = pytest.mark.unit

PY311 = Interpreter(Path(sys.executable), "3.11.7", "cpython", "linux-x86_64")
SITE = "lib/python3.11/site-packages"


def _line(rel: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def install_fake_distribution(env: Path) -> None:
    """What a wheel install leaves: files plus `<dist-info>/RECORD` with their sha256 and size."""
    site = env / SITE
    files = {
        "fakepkg/__init__.py": b"from . import helper\n",
        "fakepkg/helper.py": b"VALUE = 1\n",
        "fakepkg/_native.cpython-311-x86_64-linux-gnu.so": b"\x7fELF" + bytes(64),
        "fakepkg-1.0.dist-info/METADATA": b"Name: fakepkg\nVersion: 1.0\n",
        "../../../bin/fakepkg-tool": b"#!/bin/sh\necho tool\n",
    }
    lines = []
    for rel, data in files.items():
        path = (site / rel).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lines.append(_line(rel, data))
    lines[3] = _line("fakepkg-1.0.dist-info/METADATA", b"stale line from the wheel\n")  # as some wheels ship
    lines.append(_line("../../../../outside.txt", b"not ours"))  # outside the env: ignored
    lines.append("fakepkg-1.0.dist-info/RECORD,,")
    (site / "fakepkg-1.0.dist-info" / "RECORD").write_text("\n".join(lines) + "\n")


class FakeBuild:
    def __init__(self, monkeypatch) -> None:
        self.count = 0
        monkeypatch.setattr(build, "create_venv", self.create_venv)
        monkeypatch.setattr(build, "install_pins", self.install_pins)
        monkeypatch.setattr(build, "verify_env", lambda spec, py, env: {"framework": spec.framework, "versions": {}})
        monkeypatch.setattr(store, "find_interpreter", lambda *a, **k: PY311)

    def create_venv(self, spec, interpreter, target, creator, progress, log_path):
        self.count += 1
        (target / "bin").mkdir(parents=True)
        (target / "bin" / "python").symlink_to(sys.executable)
        (target / "lib64").symlink_to("lib")  # as venv makes it: not a second site-packages
        (target / "pyvenv.cfg").write_text("home = /usr/bin\n")

    def install_pins(self, spec, env_python, target, progress, log_path, **kw):
        install_fake_distribution(target)
        return "fake"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """(runners dir, the fake builder, a built environment's handle) in a private MMBROKER_HOME."""
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    root = tmp_path / "runners" / "fake"
    root.mkdir(parents=True)
    (root / "runner.toml").write_text('framework = "fake"\npython = ">=3.10,<3.14"\nprefer = ["3.11"]\n')
    (root / "requirements.txt").write_text("fakepkg==1.0\n")
    monkeypatch.setattr(paths, "runners_dir", lambda: tmp_path / "runners")
    fake = FakeBuild(monkeypatch)
    handle = store.ensure_env("fake", runners_dir=tmp_path / "runners")
    return tmp_path / "runners", fake, handle


def site(handle) -> Path:
    return handle.path / SITE


# -- recording and checking --------------------------------------------------------------------
def test_marker_records_the_installed_files(env):
    _, _, h = env
    files = read_marker(h.path)["files"]
    record = f"{SITE}/fakepkg-1.0.dist-info/RECORD"
    assert files["records"] == {record: hashlib.sha256((h.path / record).read_bytes()).hexdigest()}
    assert files["files"] == 5  # the one outside the environment is not counted
    assert list(files["baseline"]) == [f"{SITE}/fakepkg-1.0.dist-info/METADATA"]  # differed at build time
    assert set(files["sentinels"]) == {
        f"{SITE}/fakepkg/__init__.py",
        f"{SITE}/fakepkg/_native.cpython-311-x86_64-linux-gnu.so",
        record,
        "pyvenv.cfg",
    }
    assert all(integrity.check(h.path, files, level) == [] for level in integrity.LEVELS)


@pytest.mark.parametrize(
    "change, levels, expected",
    [
        ("delete fakepkg/helper.py", ("quick", "full"), "fakepkg/helper.py (module fakepkg.helper) is missing"),
        (
            "delete fakepkg/_native.cpython-311-x86_64-linux-gnu.so",
            ("sentinel", "quick", "full"),
            "fakepkg/_native.cpython-311-x86_64-linux-gnu.so (shared library) is missing",
        ),
        ("append fakepkg/helper.py", ("quick", "full"), "fakepkg/helper.py (module fakepkg.helper) changed size"),
        ("flip fakepkg/helper.py", ("full",), "fakepkg/helper.py (module fakepkg.helper) was modified"),
        (
            "append fakepkg-1.0.dist-info/RECORD",
            ("sentinel", "quick", "full"),
            "fakepkg-1.0.dist-info/RECORD (list of installed files of fakepkg-1.0)",
        ),
        ("delete ../../../bin/fakepkg-tool", ("quick", "full"), "bin/fakepkg-tool (file) is missing"),
    ],
)
def test_check_names_what_changed_at_each_level(env, change, levels, expected):
    _, _, h = env
    action, rel = change.split()
    path = (site(h) / rel).resolve()
    if action == "delete":
        path.unlink()
    elif action == "append":
        path.write_bytes(path.read_bytes() + b"# more\n")
    else:  # same size, other content
        data = bytearray(path.read_bytes())
        data[0] ^= 1
        path.write_bytes(bytes(data))
    files = read_marker(h.path)["files"]
    for level in integrity.LEVELS:
        found = [p.text() for p in integrity.check(h.path, files, level)]
        assert any(f.startswith(expected) for f in found) == (level in levels), (level, found)


def test_old_marker_without_hashes_counts_only_missing_files(env):
    _, _, h = env
    marker = read_marker(h.path)
    del marker["files"]
    write_marker(h.path, marker)
    (site(h) / "fakepkg/__init__.py").write_text("changed = True\n")
    assert integrity.check(h.path, None, "full") == []  # unverified: no baseline to compare with
    [info] = store.list_envs()
    assert info.status == "valid" and info.note.startswith("unverified")
    (site(h) / "fakepkg/helper.py").unlink()
    assert [p.text() for p in integrity.check(h.path, None, "quick")] == [
        "fakepkg/helper.py (module fakepkg.helper) is missing"
    ]


def test_old_marker_is_upgraded_by_setup(env, capsys):
    runners, fake, h = env
    marker = read_marker(h.path)
    recorded = marker.pop("files")
    write_marker(h.path, marker)
    assert not store.ensure_env("fake", runners_dir=runners).built and "files" not in read_marker(h.path)
    assert not store.ensure_env("fake", runners_dir=runners, check="quick").built  # what `env setup` does
    assert read_marker(h.path)["files"] == recorded and fake.count == 1
    assert "fake environment: recorded the hashes of its 5 installed files" in capsys.readouterr().err


# -- what the commands do with it -------------------------------------------------------------
def test_damaged_env_is_listed_diagnosed_and_repaired(env, capsys):
    runners, fake, h = env
    (site(h) / "fakepkg/helper.py").unlink()
    [info] = store.list_envs()
    assert info.status == "damaged" and not info.current
    assert info.problems == ["fakepkg/helper.py (module fakepkg.helper) is missing"]
    check = diagnosis.environment_check("fake", h.path, {})
    assert check.status == "fail" and "fakepkg/helper.py (module fakepkg.helper) is missing" in check.detail
    assert check.hint == "mmbroker env setup fake --force (rebuilds it)"

    # the hot path checks only the sentinels: a lost submodule is left to the runner's failure
    assert not store.ensure_env("fake", runners_dir=runners).built
    again = store.ensure_env("fake", runners_dir=runners, check="quick")  # what `env setup` does
    assert again.built and again.reason == "damaged: fakepkg/helper.py (module fakepkg.helper) is missing"
    assert "building fake environment: damaged: fakepkg/helper.py" in capsys.readouterr().err
    assert [i.status for i in store.list_envs()] == ["valid"] and fake.count == 2


def test_lost_shared_library_is_repaired_on_the_hot_path(env):
    runners, fake, h = env
    (site(h) / "fakepkg/_native.cpython-311-x86_64-linux-gnu.so").unlink()
    assert store.find_env("fake", runners_dir=runners) is None
    again = store.ensure_env("fake", runners_dir=runners)
    assert again.built and again.reason.startswith("damaged: fakepkg/_native")
    assert fake.count == 2


def test_runner_failing_in_a_damaged_env_is_env_damaged(env):
    """A runner that cannot start is checked against its environment: a damaged one is reported as
    `env-damaged` with the command that repairs it, not as a runner bug."""
    from broker.errors import RunnerCrashed
    from broker.supervisor import RunnerProcess

    runners, _, h = env
    pkg = runners / "fake"
    (runners / "__init__.py").write_text("")
    (runners / "common").symlink_to(Path(__file__).resolve().parents[2] / "runners" / "common")
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text("raise ModuleNotFoundError(\"No module named 'fakepkg.helper'\")\n")
    with pytest.raises(RunnerCrashed) as intact:
        RunnerProcess("fake", h.python).start()
    assert intact.value.reference == "runner-exited-early"

    (site(h) / "fakepkg/helper.py").unlink()
    with pytest.raises(Exception) as damaged:
        RunnerProcess("fake", h.python).start()
    err = damaged.value
    assert getattr(err, "reference", "") == "env-damaged", err
    assert "fakepkg/helper.py (module fakepkg.helper) is missing" in str(err)
    assert "No module named 'fakepkg.helper'" in str(err)
    assert err.hint == "rebuild it: mmbroker env setup fake --force"


# -- leftovers of interrupted builds ----------------------------------------------------------
def test_setup_and_prune_remove_leftovers_of_dead_builds(env, capsys):
    runners, fake, h = env
    envs = paths.envs_dir()
    left = envs / ".tmp-fake-0123abcd"
    (left / "lib").mkdir(parents=True)
    assert not store.ensure_env("fake", runners_dir=runners).built  # a valid env: no rebuild, but tidied
    assert not left.exists() and "removed 1 folder(s) left by an interrupted fake build" in capsys.readouterr().err

    left.mkdir()
    trash = envs / ".trash-fake-89abcdef"
    trash.mkdir()
    removed = store.prune_envs()
    assert left in removed and trash in removed and store.lock_path("fake") in removed
    assert sorted(p.name for p in envs.iterdir()) == [h.path.name] and fake.count == 1


def test_leftovers_of_a_running_build_are_kept(env):
    runners, _, _ = env
    left = paths.envs_dir() / ".tmp-fake-0123abcd"
    left.mkdir()
    with lock_held_elsewhere(store.lock_path("fake")):
        assert not store.ensure_env("fake", runners_dir=runners).built
        assert left.exists()
        assert left not in store.prune_envs() and left.exists() and store.stale_locks() == []
    assert store.stale_locks() == [store.lock_path("fake")]


def test_list_json_has_problems(env):
    from typer.testing import CliRunner

    from broker.cli import app, commands

    commands.register()

    _, _, h = env
    (site(h) / "fakepkg/helper.py").unlink()
    result = CliRunner().invoke(app, ["env", "list", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["status"] == "damaged" and row["problems"] == ["fakepkg/helper.py (module fakepkg.helper) is missing"]
    assert (h.path / MARKER).exists()

"""`mmbroker env ...` through typer's CliRunner, on a fake runners tree and fake builds."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import broker.cli.cmd_env  # noqa: F401  (registers the env commands)
from broker import paths
from broker.cli.app import app
from broker.envs import build, store
from broker.envs.interpreters import Interpreter
from broker.errors import BrokerError

pytestmark = pytest.mark.unit

PY = Interpreter(Path(sys.executable), "3.11.7", "cpython", "linux-x86_64")


@pytest.fixture
def fake_world(tmp_path, monkeypatch):
    """A runners tree with one framework `fake`, a temp MMBROKER_HOME and build steps that do nothing."""
    root = tmp_path / "runners"
    (root / "fake").mkdir(parents=True)
    (root / "fake" / "runner.toml").write_text(
        'framework = "fake"\npython = ">=3.0"\nsystem_packages = ["mmbroker-no-such-package"]\n'
    )
    (root / "fake" / "requirements.txt").write_text("numpy==2.4.6\n")
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(paths, "runners_dir", lambda: root)
    monkeypatch.setattr(store, "find_interpreter", lambda *a, **k: PY)

    def create_venv(spec, interpreter, target, creator, progress, log_path):
        (target / "bin").mkdir(parents=True)
        (target / "bin" / "python").symlink_to(sys.executable)

    monkeypatch.setattr(build, "create_venv", create_venv)
    monkeypatch.setattr(build, "install_pins", lambda *a, **k: "fake")
    monkeypatch.setattr(build, "ensure_system_packages", lambda *a, **k: [])  # apt is tested apart
    monkeypatch.setattr(build, "verify_env", lambda spec, py, env: {"framework": "fake", "versions": {"fake": "1.0"}})
    return root


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_setup_list_path_remove(fake_world):
    r = run("env", "setup", "all")
    assert r.exit_code == 0, r.output
    assert "building fake environment: none yet" in r.stderr and r.stdout == ""
    r = run("env", "setup", "fake")
    assert r.exit_code == 0 and "up to date" in r.stderr

    r = run("env", "list", "--json")
    assert r.exit_code == 0
    [env] = json.loads(r.stdout)
    assert env["framework"] == "fake" and env["status"] == "valid" and env["current"] is True
    assert env["python"] == "3.11.7" and env["versions"] == {"fake": "1.0"} and env["size_bytes"] > 0
    assert Path(env["path"]).name == "fake-" + env["key"][:12]

    r = run("env", "list")
    assert r.exit_code == 0 and "fake" in r.stdout and "valid (current)" in r.stdout

    r = run("env", "path", "fake")
    assert r.exit_code == 0 and r.stdout.strip() == env["path"]

    r = run("env", "remove", env["key"][:8])
    assert r.exit_code == 0 and "removed" in r.stderr and not Path(env["path"]).exists()
    r = run("env", "path", "fake")
    assert isinstance(r.exception, BrokerError) and r.exception.reference == "env-not-built"


def test_list_json_shows_incomplete(fake_world):
    left = paths.envs_dir() / "fake-0123456789ab"
    (left / "bin").mkdir(parents=True)
    r = run("env", "list", "--json")
    [env] = json.loads(r.stdout)
    assert env["status"] == "incomplete" and env["current"] is False
    r = run("env", "prune")
    assert r.exit_code == 0 and not left.exists()


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg")
def test_doctor_reports_missing_package(fake_world):
    r = run("env", "doctor", "fake", "--json")
    assert r.exit_code == 1
    [report] = json.loads(r.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert checks["system packages"]["hint"] == "apt-get install -y mmbroker-no-such-package"
    r = run("env", "doctor", "fake")
    assert r.exit_code == 1 and "apt-get install -y mmbroker-no-such-package" in r.stdout


def test_unknown_framework_and_remove_needs_target(fake_world):
    r = run("env", "setup", "nope")
    assert isinstance(r.exception, BrokerError) and r.exception.reference == "env-unknown-framework"
    r = run("env", "remove")
    assert isinstance(r.exception, BrokerError) and r.exception.reference == "env-remove-what"


def test_no_color_respected(fake_world, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    r = run("env", "doctor", "fake")
    assert "FAIL" in r.stdout and not re.search(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])m", r.stdout)  # bold is no color

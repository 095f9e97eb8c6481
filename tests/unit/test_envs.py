"""Environment manager: spec parsing, interpreter discovery, keys, markers, locking, doctor.

Builds here are fakes (a venv step that links bin/python to this interpreter, an install step that
does nothing, a verify step that returns a fixed Describe); the real builds are in
test_envs_build.py, marked `runner`.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from processes import lock_held_elsewhere

from broker import paths
from broker.envs import build, diagnosis, installer, interpreters, store
from broker.envs.interpreters import Interpreter, find_interpreter, version_matches
from broker.envs.key import describe_change, env_dirname, env_key, key_material
from broker.envs.marker import MARKER, read_marker
from broker.envs.spec import load_spec, parse_requirements
from broker.errors import BrokerError

pytestmark = pytest.mark.unit

PY311 = Interpreter(Path(sys.executable), "3.11.7", "cpython", "linux-x86_64")
PY312 = Interpreter(Path(sys.executable), "3.12.1", "cpython", "linux-x86_64")


def write_runner(root: Path, fw: str = "fake", *, toml: str | None = None, reqs: str = "numpy==2.4.6\n") -> Path:
    d = root / fw
    d.mkdir(parents=True, exist_ok=True)
    (d / "runner.toml").write_text(
        toml
        if toml is not None
        else f'framework = "{fw}"\npython = ">=3.10,<3.14"\nprefer = ["3.11"]\nsystem_packages = []\n'
    )
    (d / "requirements.txt").write_text(reqs)
    return root


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def runners(tmp_path):
    return write_runner(tmp_path / "runners")


class FakeBuild:
    """Replaces the venv, install and verify steps; counts builds."""

    def __init__(self, monkeypatch, delay: float = 0.0) -> None:
        self.count = 0
        self.delay = delay
        self.interpreter = PY311
        monkeypatch.setattr(build, "create_venv", self.create_venv)
        monkeypatch.setattr(build, "install_pins", self.install_pins)
        monkeypatch.setattr(build, "verify_env", self.verify_env)
        monkeypatch.setattr(store, "find_interpreter", lambda *a, **k: self.interpreter)

    def create_venv(self, spec, interpreter, target, creator, progress, log_path):
        self.count += 1
        (target / "bin").mkdir(parents=True)
        (target / "bin" / "python").symlink_to(sys.executable)

    def install_pins(self, spec, env_python, target, progress, log_path, **kw):
        time.sleep(self.delay)
        return "fake"

    def verify_env(self, spec, env_python, env_vars):
        return {"framework": spec.framework, "protocol_version": 1, "versions": {spec.framework: "1.0"}}


# -- spec -----------------------------------------------------------------------------------------
def test_spec_reads_toml_and_pins(tmp_path):
    root = write_runner(
        tmp_path,
        toml='framework = "fake"\npython = ">=3.10,<3.14"\nprefer = ["3.11"]\nsystem_packages = ["libgomp1"]\n'
        'future_key = 3\n[install]\nonly_binary = [":all:"]\nenv = { LD_LIBRARY_PATH = "{env}/lib" }\ncustom = 1\n',
        reqs="# comment\n--extra-index-url https://example.invalid/simple\nNumPy==2.4.6  # inline\n"
        "onnx_ir==1.1.0\ntyping-extensions==4.16.0 ; python_version < '3.12'\n",
    )
    spec = load_spec("fake", root)
    assert spec.python == ">=3.10,<3.14" and spec.prefer == ("3.11",)
    assert spec.system_packages == ("libgomp1",)
    assert [(p.name, p.version) for p in spec.pins] == [
        ("numpy", "2.4.6"),
        ("onnx-ir", "1.1.0"),
        ("typing-extensions", "4.16.0"),
    ]
    assert spec.index_options == (("--extra-index-url", "https://example.invalid/simple"),)
    assert spec.install.only_binary == (":all:",) and spec.install.env == {"LD_LIBRARY_PATH": "{env}/lib"}
    assert spec.install.extra == {"custom": 1} and spec.extra == {"future_key": 3}
    assert "typing-extensions==4.16.0;python_version < '3.12'" in spec.requirement_lines()


@pytest.mark.parametrize(
    "line", ["numpy>=2", "numpy", "numpy==2.*", "numpy~=2.4", "git+https://x/y.git", "-e .", "-r other.txt"]
)
def test_non_exact_pin_rejected(tmp_path, line):
    (tmp_path / "requirements.txt").write_text(f"onnx==1.23.2\n{line}\n")
    with pytest.raises(BrokerError) as exc:
        parse_requirements(tmp_path / "requirements.txt")
    assert exc.value.reference in ("env-requirement-not-pinned", "env-requirement-option")
    assert "requirements.txt:2" in str(exc.value) and exc.value.hint


def test_duplicate_pin_and_bad_spec(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy==1\nNumPy==2\n")
    with pytest.raises(BrokerError, match="pinned twice"):
        parse_requirements(tmp_path / "requirements.txt")
    root = write_runner(tmp_path / "r", toml='framework = "other"\npython = ">=3.10"\n')
    with pytest.raises(BrokerError, match="declares framework"):
        load_spec("fake", root)
    with pytest.raises(BrokerError) as exc:
        load_spec("nope", root)
    assert exc.value.reference == "env-unknown-framework" and "fake" in exc.value.hint


ROOT_RUNNERS = Path(__file__).resolve().parents[2] / "runners"


def test_real_runner_specs_load():
    for fw in ("onnx", "pytorch"):
        if (ROOT_RUNNERS / fw / "runner.toml").exists():
            spec = load_spec(fw, ROOT_RUNNERS)
            assert spec.pins and version_matches("3.11.7", spec.python)


def test_hooks_file_enters_install_digest(runners):
    before = load_spec("fake", runners).install_digest()
    (runners / "fake" / "setup_hooks.py").write_text("def post_install(ctx):\n    pass\n")
    spec = load_spec("fake", runners)
    assert spec.hooks_path is not None and spec.install_digest() != before


# -- interpreters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "version,rng,ok",
    [
        ("3.11.7", ">=3.10,<3.14", True),
        ("3.14.0", ">=3.10,<3.14", False),
        ("3.9.18", ">=3.10,<3.14", False),
        ("3.6.15", "==3.6.*", True),
        ("3.7.1", "==3.6.*", False),
        ("3.13.0", "<3.14", True),
        ("3.10", ">=3.10", True),
        ("3.11.7", "!=3.11.*", False),
        ("3.8.1", "~=3.8", True),
    ],
)
def test_version_matches(version, rng, ok):
    assert version_matches(version, rng) is ok


def _real(minor: str) -> str | None:
    """A real interpreter of this minor version: pyenv's, or on PATH (not a shim that may not run)."""
    root = interpreters.pyenv_root()
    if root is not None:
        for d in sorted((root / "versions").glob(f"{minor}.*")):
            if (d / "bin" / "python").exists() and interpreters.probe(d / "bin" / "python"):
                return str(d / "bin" / "python")
    exe = shutil.which(f"python{minor}")
    return exe if exe and interpreters.probe(exe) else None


def test_discovery_with_fake_pyenv_root(tmp_path):
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    real = {m: _real(m) for m in ("3.10", "3.11", "3.12", "3.13") if _real(m)}
    real.setdefault(here, sys.executable)
    if len(real) < 2:
        pytest.skip("needs two Python versions")
    root = tmp_path / "pyenv"
    full = {}
    for minor, exe in real.items():
        interp = interpreters.probe(exe)
        assert interp is not None
        full[minor] = interp.version
        (root / "versions" / interp.version / "bin").mkdir(parents=True)
        (root / "versions" / interp.version / "bin" / "python").symlink_to(exe)
    broken = root / "versions" / "3.13.99" / "bin"
    broken.mkdir(parents=True)
    (broken / "python").write_text("#!/bin/sh\nexit 1\n")
    (broken / "python").chmod(0o755)
    (root / "versions" / "3.9.99" / "bin").mkdir(parents=True)  # out of range, never probed
    (root / "versions" / "3.9.99" / "bin" / "python").symlink_to(sys.executable)
    (root / "versions" / "system-venv").mkdir()
    minors = sorted(real, key=lambda m: tuple(int(x) for x in m.split(".")))
    oldest, newest = minors[0], minors[-1]

    chosen = find_interpreter(">=3.10,<3.14", [oldest], search_path="", pyenv=root)
    assert chosen.version == full[oldest] and chosen.source == "pyenv"
    # no preference: newest that runs (the broken 3.13.99 is skipped)
    chosen = find_interpreter(">=3.10,<3.14", [], search_path="", pyenv=root)
    assert chosen.version == full[newest]
    # PATH comes before pyenv for the same minor version
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / f"python{oldest}").symlink_to(real[oldest])
    chosen = find_interpreter(">=3.10,<3.14", [oldest], search_path=str(bindir), pyenv=root)
    assert chosen.source == "PATH" and chosen.version == full[oldest]
    # a version instead of a path
    assert find_interpreter(">=3.10,<3.14", [], full[oldest], search_path="", pyenv=root).version == full[oldest]
    assert find_interpreter(">=3.10,<3.14", [], oldest, search_path="", pyenv=root).version == full[oldest]
    with pytest.raises(BrokerError) as exc:
        find_interpreter(">=3.10,<3.14", [], "3.9", search_path="", pyenv=root)
    assert exc.value.reference == "env-python-unsupported"
    # nothing in range: the error gives the command to get one
    with pytest.raises(BrokerError) as exc:
        find_interpreter(">=3.20", ["3.20"], search_path="", pyenv=root)
    assert exc.value.reference == "env-python-missing" and "3.20" in exc.value.hint


def test_pyenv_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pyenv executable
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyroot"))
    assert interpreters.pyenv_root() == tmp_path / "pyroot"


def test_explicit_python_checked_against_range():
    interp = find_interpreter(">=3.0", [], sys.executable)
    assert interp.source == "--python" and interp.version.startswith(f"{sys.version_info.major}.")
    with pytest.raises(BrokerError) as exc:
        find_interpreter(">=9.0", [], sys.executable)
    assert exc.value.reference == "env-python-unsupported"
    with pytest.raises(BrokerError) as exc:
        find_interpreter(">=3.0", [], "/nonexistent/python")
    assert exc.value.reference == "env-python-not-runnable"


# -- key ------------------------------------------------------------------------------------------
def test_key_is_stable_and_changes_with_inputs(runners):
    spec = load_spec("fake", runners)
    m1 = key_material(spec, PY311)
    assert env_key(m1) == env_key(key_material(load_spec("fake", runners), PY311))
    assert env_key(dict(reversed(list(m1.items())))) == env_key(m1)  # canonical JSON
    assert len(env_key(m1)) == 64 and env_dirname("fake", env_key(m1)) == "fake-" + env_key(m1)[:12]
    m2 = key_material(spec, PY312)
    assert env_key(m2) != env_key(m1)
    assert describe_change(m1, m2) == "python 3.11.7 -> 3.12.1"
    write_runner(runners, reqs="numpy==2.4.7\nonnx==1.23.2\n")
    m3 = key_material(load_spec("fake", runners), PY311)
    assert env_key(m3) != env_key(m1)
    assert describe_change(m1, m3) == "numpy 2.4.6 -> 2.4.7, added onnx 1.23.2"
    # pin order in the file does not matter
    write_runner(runners, reqs="onnx==1.23.2\nnumpy==2.4.7\n")
    assert env_key(key_material(load_spec("fake", runners), PY311)) == env_key(m3)


# -- store: build, marker, reasons ----------------------------------------------------------------
def test_ensure_builds_once_then_returns_at_once(home, runners, monkeypatch, capsys):
    fake = FakeBuild(monkeypatch)
    h = store.ensure_env("fake", runners_dir=runners)
    assert h.built and h.reason == "none yet" and fake.count == 1
    assert h.python == h.path / "bin" / "python" and h.python.exists()
    assert h.path.name == env_dirname("fake", h.key) and h.path.parent == paths.envs_dir()
    marker = read_marker(h.path)
    assert marker is not None and marker["key"] == h.key and marker["versions"] == {"fake": "1.0"}
    assert (h.path / "describe.json").exists()
    assert not list(paths.envs_dir().glob(".tmp-*"))
    again = store.ensure_env("fake", runners_dir=runners)
    assert not again.built and again.key == h.key and fake.count == 1
    assert "building fake environment: none yet" in capsys.readouterr().err


def test_interpreter_change_rebuilds_and_says_why(home, runners, monkeypatch, capsys):
    fake = FakeBuild(monkeypatch)
    first = store.ensure_env("fake", runners_dir=runners)
    fake.interpreter = PY312
    second = store.ensure_env("fake", runners_dir=runners)
    assert second.built and second.key != first.key
    assert second.reason == "changed: python 3.11.7 -> 3.12.1"
    assert "building fake environment: changed: python 3.11.7 -> 3.12.1" in capsys.readouterr().err
    # the old one stays until removed
    assert first.path.exists() and read_marker(first.path) is not None


def test_dir_without_marker_is_incomplete_and_rebuilt(home, runners, monkeypatch):
    fake = FakeBuild(monkeypatch)
    h = store.ensure_env("fake", runners_dir=runners)
    (h.path / MARKER).unlink()
    monkeypatch.setattr(paths, "runners_dir", lambda: runners)
    [info] = store.list_envs()
    assert info.status == "incomplete" and "marker" in info.note
    assert store.find_env("fake", runners_dir=runners) is None
    again = store.ensure_env("fake", runners_dir=runners)
    assert again.built and again.reason == "previous build was interrupted" and fake.count == 2
    assert read_marker(again.path) is not None


def test_leftover_tmp_dir_means_interrupted_and_is_cleared(home, runners, monkeypatch):
    FakeBuild(monkeypatch)
    left = paths.envs_dir() / ".tmp-fake-0123abcd"
    (left / "bin").mkdir(parents=True)
    monkeypatch.setattr(paths, "runners_dir", lambda: runners)
    assert [i.status for i in store.list_envs()] == ["incomplete"]
    h = store.ensure_env("fake", runners_dir=runners)
    assert h.reason == "previous build was interrupted" and not left.exists()


def test_failed_build_leaves_nothing(home, runners, monkeypatch):
    fake = FakeBuild(monkeypatch)

    def fail(*a, **k):
        raise BrokerError("boom", reference="env-install-failed")

    monkeypatch.setattr(build, "install_pins", fail)
    with pytest.raises(BrokerError, match="boom"):
        store.ensure_env("fake", runners_dir=runners)
    assert fake.count == 1 and [p.name for p in paths.envs_dir().iterdir()] == [".fake.lock"]


def test_force_rebuilds_in_place(home, runners, monkeypatch):
    fake = FakeBuild(monkeypatch)
    h = store.ensure_env("fake", runners_dir=runners)
    h2 = store.ensure_env("fake", runners_dir=runners, force=True)
    assert h2.built and h2.path == h.path and h2.reason == "rebuild requested (--force)" and fake.count == 2
    assert sorted(p.name for p in paths.envs_dir().iterdir()) == [".fake.lock", h.path.name]


def test_stale_env_and_remove(home, runners, monkeypatch):
    FakeBuild(monkeypatch)
    monkeypatch.setattr(paths, "runners_dir", lambda: runners)
    old = store.ensure_env("fake", runners_dir=runners)
    write_runner(runners, reqs="numpy==2.4.7\n")
    new = store.ensure_env("fake", runners_dir=runners)
    assert new.reason == "changed: numpy 2.4.6 -> 2.4.7"
    status = {i.key: (i.status, i.current) for i in store.list_envs()}
    assert status == {old.key: ("stale", False), new.key: ("valid", True)}
    assert store.prune_envs() == [old.path, store.lock_path("fake")] and not old.path.exists()
    assert store.remove_env(new.key[:6]) == [new.path]
    with pytest.raises(BrokerError) as exc:
        store.remove_env("fake")
    assert exc.value.reference == "env-not-found"


def test_library_links_and_env_vars(home, tmp_path, monkeypatch):
    lib = tmp_path / "libfake.so.1"
    lib.write_bytes(b"")
    root = write_runner(
        tmp_path / "runners",
        toml='framework = "fake"\npython = ">=3.10"\n[install]\nenv = { FAKE_HOME = "{env}/share" }\n'
        f'library_links = ["{lib}"]\n',
    )
    FakeBuild(monkeypatch)
    h = store.ensure_env("fake", runners_dir=root)
    assert h.env_vars == {"FAKE_HOME": f"{h.path}/share", "LD_LIBRARY_PATH": f"{h.path}/mmbroker-libs"}
    assert (h.path / "mmbroker-libs" / "libfake.so.1").resolve() == lib


def test_setup_hooks_are_called(home, runners, monkeypatch):
    FakeBuild(monkeypatch)
    (runners / "fake" / "setup_hooks.py").write_text(
        "def pre_install(ctx):\n    ctx.install_args.append('--pre')\n    (ctx.env_dir / 'pre').write_text('1')\n"
        "def post_install(ctx):\n    ctx.env_vars['HOOKED'] = '{env}/x'\n    ctx.run(['true'])\n"
    )
    h = store.ensure_env("fake", runners_dir=runners)
    assert (h.path / "pre").read_text() == "1" and h.env_vars["HOOKED"] == f"{h.path}/x"


# -- lock -----------------------------------------------------------------------------------------
def test_lock_held_by_another_process(home, runners, monkeypatch, capsys):
    fake = FakeBuild(monkeypatch)
    paths.envs_dir().mkdir(parents=True)
    with lock_held_elsewhere(store.lock_path("fake"), seconds=1.5):
        with pytest.raises(BrokerError) as exc:
            store.ensure_env("fake", runners_dir=runners, lock_timeout=0.2)
        assert exc.value.reference == "env-busy" and fake.count == 0
        h = store.ensure_env("fake", runners_dir=runners, lock_timeout=30)  # waits for the holder
        assert h.built and fake.count == 1
        assert "waiting for another build of the fake environment" in capsys.readouterr().err


def test_concurrent_ensures_build_once(home, runners, monkeypatch):
    fake = FakeBuild(monkeypatch, delay=0.5)
    results: list[store.EnvHandle] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.ensure_env("fake", runners_dir=runners))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.count == 1 and len({r.path for r in results}) == 1 and sum(r.built for r in results) == 1


# -- installer options ----------------------------------------------------------------------------
def test_pip_config_parsing():
    text = (
        ":env:.find-links='/opt/wheels'\nglobal.cert='/etc/ssl/x.crt'\n"
        "global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'\n"
        "global.find-links='/opt/wheels'\nglobal.index-url='https://mirror.invalid/simple'\n"
    )
    s = installer.parse_pip_config(text)
    assert s.find_links == ("/opt/wheels",)
    assert s.extra_index_urls == ("file:///opt/pypi/simple", "file:///opt/pypi-more/simple")
    assert s.index_url == "https://mirror.invalid/simple"


def test_install_command_sources(runners, monkeypatch):
    write_runner(runners, reqs="--extra-index-url https://idx.invalid/simple\nnumpy==2.4.6\n")
    spec = load_spec("fake", runners)
    monkeypatch.setattr(
        installer, "pip_sources", lambda: installer.PipSources("", ("file:///opt/pypi/simple",), ("/opt/wheels",))
    )
    cmd = installer.install_command(spec, Path("/e/bin/python"), Path("/e/r.txt"), uv="uv", find_links=["/w"])
    assert cmd[:4] == ["uv", "pip", "install", "--python"] and "--compile-bytecode" in cmd
    joined = " ".join(cmd)
    assert "--extra-index-url https://idx.invalid/simple" in joined
    assert "--extra-index-url file:///opt/pypi/simple" in joined
    assert "--find-links /w --find-links /opt/wheels" in joined
    offline = " ".join(
        installer.install_command(
            spec, Path("/e/bin/python"), Path("/e/r.txt"), uv="uv", find_links=["/w"], no_index=True
        )
    )
    assert "--no-index" in offline and "index-url" not in offline and "--find-links /w" in offline
    pip = installer.install_command(spec, Path("/e/bin/python"), Path("/e/r.txt"), uv=None)
    assert pip[:4] == ["/e/bin/python", "-m", "pip", "install"] and "file:///opt/pypi/simple" not in pip


def test_creator_choice(runners):
    spec = load_spec("fake", runners)
    py36 = Interpreter(Path("/p/3.6"), "3.6.15", "cpython", "linux-x86_64")
    assert installer.choose_creator(spec, PY311, "uv") == "uv"
    assert installer.choose_creator(spec, PY311, None) == "virtualenv"
    assert installer.choose_creator(spec, py36, None) == "venv"


def test_uv_never_serves_python_36(runners, monkeypatch):
    """uv neither creates nor installs into CPython 3.6 environments: venv and pip do."""
    monkeypatch.setattr(installer, "find_uv", lambda: "/bin/uv")
    spec = load_spec("fake", runners)
    py36 = Interpreter(Path("/p/3.6"), "3.6.15", "cpython", "linux-x86_64")
    assert installer.uv_for(py36) is None and installer.uv_for(PY311) == "/bin/uv"
    assert installer.choose_creator(spec, py36, installer.uv_for(py36)) == "venv"
    cmd = installer.install_command(spec, Path("/e/bin/python"), Path("/e/r.txt"), uv=installer.uv_for(py36))
    assert cmd[:4] == ["/e/bin/python", "-m", "pip", "install"]


def test_run_streaming_keeps_tail(tmp_path):
    seen: list[str] = []
    res = installer.run_streaming(
        [sys.executable, "-c", "import sys\nfor i in range(50): print(i)\nsys.exit(3)"],
        on_line=seen.append,
        log_path=tmp_path / "log",
    )
    assert res.returncode == 3 and res.tail == [str(i) for i in range(20, 50)] and len(seen) == 50
    assert "49" in (tmp_path / "log").read_text()


# -- doctor ---------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg")
def test_doctor_names_missing_system_package(home, tmp_path, monkeypatch):
    root = write_runner(
        tmp_path / "runners",
        toml='framework = "fake"\npython = ">=3.0"\nsystem_packages = ["libc6", "mmbroker-no-such-package"]\n',
    )
    report = diagnosis.doctor("fake", runners_dir=root, python=sys.executable)
    checks = {c.name: c for c in report.checks}
    assert checks["system packages"].status == "fail"
    assert checks["system packages"].detail == "missing: mmbroker-no-such-package"
    assert checks["system packages"].hint == "apt-get install -y mmbroker-no-such-package"
    assert checks["python"].status == "ok" and checks["environment"].hint == "mmbroker env setup fake"
    assert not report.ok and report.to_dict()["ok"] is False


def test_doctor_missing_interpreter(home, tmp_path):
    root = write_runner(tmp_path / "runners", toml='framework = "fake"\npython = ">=3.99"\nprefer = ["3.99"]\n')
    checks = {c.name: c for c in diagnosis.doctor("fake", runners_dir=root).checks}
    assert checks["python"].status == "fail" and "3.99" in checks["python"].hint
    assert ("pyenv install 3.99" in checks["python"].hint) or ("apt-get install -y python3.99" in checks["python"].hint)


def test_installer_environment_is_clean(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("VIRTUAL_ENV", "/some/venv")
    env = installer.clean_environment({"A": "b"})
    assert (
        "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env and env["A"] == "b" and env["PATH"] == os.environ["PATH"]
    )


def test_missing_system_packages_without_root_name_the_apt_command(monkeypatch):
    from broker.envs import packages, system

    monkeypatch.setattr(system, "missing_packages", lambda names: [n for n in names if n != "present"])
    monkeypatch.setattr(system, "can_install", lambda: False)
    with pytest.raises(BrokerError) as err:
        packages.ensure_system_packages("caffe", ["present", "libfoo1", "libbar2"])
    assert err.value.reference == "env-system-packages"
    assert "libfoo1, libbar2" in err.value.message
    assert "apt-get install -y libfoo1 libbar2" in err.value.hint


def test_installed_system_packages_need_nothing(monkeypatch):
    from broker.envs import packages, system

    monkeypatch.setattr(system, "missing_packages", lambda names: [])
    monkeypatch.setattr(system, "can_install", lambda: False)
    assert packages.ensure_system_packages("caffe", ["libfoo1"]) == []


def test_hook_install_uses_the_users_sources(tmp_path, monkeypatch):
    """A hook's extra install goes through the same installer with the user's --find-links/--no-index."""
    from broker.envs import hooks

    root = write_runner(tmp_path / "runners")
    spec = load_spec("fake", root)
    ran: list[list[str]] = []
    monkeypatch.setattr(hooks.HookContext, "run", lambda self, cmd, **kw: ran.append(cmd))
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    ctx = hooks.HookContext(
        spec=spec,
        env_dir=env_dir,
        python=env_dir / "bin" / "python",
        interpreter=Interpreter(Path(sys.executable), "3.11.7", "cpython", "linux-x86_64"),
        find_links=("/wheels",),
        no_index=True,
    )
    ctx.install(["tf-keras==2.21.0"], ["--no-deps"])
    cmd = ran[0]
    assert "--no-index" in cmd and "--no-deps" in cmd
    assert cmd[cmd.index("--find-links") + 1] == "/wheels"
    assert not (env_dir / "requirements-hook.txt").exists()

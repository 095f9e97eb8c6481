"""Shared fixtures: runner environments (built once, cached under $MMBROKER_HOME), one warm runner
per framework for the whole test session, and the PyTorch zoo built inside the PyTorch environment."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# Runners end with the test's broker unless a test asks for warm ones (tests/per_runner/test_warm_runners.py):
# the tests of what a broker leaves behind count every process it started.
os.environ.setdefault("MMBROKER_KEEP_WARM", "0")
os.environ.setdefault("MMBROKER_IR_CACHE", "0")  # every test parses: no IR from an earlier run

RESULTS_FILE = Path(os.environ.get("MMBROKER_PARITY_RESULTS", ROOT / "build" / "parity-results.json"))


@pytest.fixture(scope="session")
def env_for():
    """fw -> EnvHandle, building the environment on first use (progress on stderr)."""
    from broker.envs import ensure_env

    cache: dict[str, object] = {}

    def get(fw: str):
        if fw not in cache:
            cache[fw] = ensure_env(fw)
        return cache[fw]

    return get


# Environment failures that mean "this machine cannot have this framework", not a bug: the tests
# that need such a framework skip with the broker's message instead of failing.
MACHINE_LIMITS = {"env-system-packages", "env-python-missing", "env-python-unsupported", "env-python-not-runnable"}


@pytest.fixture(scope="session")
def env_or_skip(env_for):
    """fw -> EnvHandle, or pytest.skip with the reason when this machine cannot host the framework."""
    from broker.errors import BrokerError

    reasons: dict[str, str] = {}

    def get(fw: str):
        if fw not in reasons:
            try:
                return env_for(fw)
            except BrokerError as exc:
                if exc.reference not in MACHINE_LIMITS:
                    raise
                reasons[fw] = f"{fw} cannot run on this machine: {exc.message} ({exc.hint})"
        pytest.skip(reasons[fw])

    return get


@pytest.fixture(scope="session")
def session(tmp_path_factory):
    """One conversion session for all tests: each runner starts once and stays warm."""
    from broker.pipeline import Session

    with Session(workspace=tmp_path_factory.mktemp("session")) as s:
        yield s


@pytest.fixture(scope="session")
def zoo(env_for, tmp_path_factory):
    """The six PyTorch architectures as .pt2/.onnx/.pth files, made in the PyTorch environment."""
    handle = env_for("pytorch")
    out = tmp_path_factory.mktemp("zoo")
    run_in_env(handle, ROOT / "tests" / "parity" / "zoo.py", out)
    return {e["name"]: {**e, "dir": out} for e in json.loads((out / "zoo.json").read_text())}


class ParityRecorder:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, src: str, dst: str, model: str, report) -> None:
        self.rows.append(
            {
                "source": src,
                "target": dst,
                "model": model,
                "passed": report.passed,
                "max_abs": max((o.max_abs for o in report.outputs), default=None),
                "max_rel": max((o.max_rel for o in report.outputs), default=None),
                "reference": report.reference_engine,
                "candidate": report.candidate_engine,
            }
        )


@pytest.fixture(scope="session")
def parity_recorder():
    rec = ParityRecorder()
    yield rec
    if rec.rows:
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else []
        keep = {(r["source"], r["target"], r["model"]) for r in rec.rows}
        rows = [r for r in old if (r["source"], r["target"], r["model"]) not in keep] + rec.rows
        RESULTS_FILE.write_text(
            json.dumps(sorted(rows, key=lambda r: (r["source"], r["target"], r["model"])), indent=1) + "\n"
        )


_MARK_BY_DIR = {"unit": "unit", "per_runner": "runner", "parity": "parity", "conformance": "runner"}


def pytest_collection_modifyitems(config, items):
    """Every test carries the marker of its folder, so `pytest -m <marker>` selects whole suites."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        mark = _MARK_BY_DIR.get(parts[0]) if len(parts) > 1 else None
        if mark and not any(item.get_closest_marker(m) for m in ("unit", "runner", "parity")):
            item.add_marker(getattr(pytest.mark, mark))


from helpers import run_in_env  # noqa: E402
from local_server import file_server  # noqa: E402, F401  (fixture: files served on 127.0.0.1)
from parity.tf_models import APPLICATIONS  # noqa: E402

TF_APPS = list(APPLICATIONS)


@pytest.fixture(scope="session")
def tf_models(env_for, tmp_path_factory):
    """(folder, {name: entry}): Keras/TF model files made in the tensorflow environment by
    tests/parity/tf_models.py (keras.applications, a Keras 2 .h5, a TF1 checkpoint, bad files)."""
    handle = env_for("tensorflow")
    out = tmp_path_factory.mktemp("tf_models")
    run_in_env(handle, ROOT / "tests" / "parity" / "tf_models.py", out, *TF_APPS)
    return out, {e["name"]: e for e in json.loads((out / "tf_models.json").read_text())}

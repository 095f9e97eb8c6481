"""The IR libraries' background import starts only where cores are free for it."""

from __future__ import annotations

import sys

import pytest

from broker.ir import preload


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(preload, "_thread", None)
    yield
    preload.wait()


@pytest.mark.skipif(not hasattr(preload.os, "sched_getaffinity"), reason="Linux only")
def test_two_cores_import_nothing_ahead(fresh, monkeypatch):
    monkeypatch.setattr(preload.os, "sched_getaffinity", lambda pid: {0, 1})
    preload.start()
    assert preload._thread is None
    preload.wait()  # nothing to wait for


@pytest.mark.skipif(not hasattr(preload.os, "sched_getaffinity"), reason="Linux only")
def test_more_cores_import_in_the_background(fresh, monkeypatch):
    monkeypatch.setattr(preload.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    preload.start()
    assert preload._thread is not None
    preload.wait()
    assert not preload._thread.is_alive()
    assert all(name in sys.modules for name in preload.MODULES)

"""The parsed-IR cache (broker/ircache.py): an entry is found again only for the same source bytes,
options and parser, is placed by hard link, and the least recently used entries go first."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from broker import ircache
from broker.ir import IRFiles

pytestmark = pytest.mark.unit


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBROKER_IR_CACHE_DIR", str(tmp_path / "cache"))
    folder = ircache.root()
    assert folder is not None and (folder.stat().st_mode & 0o777) == 0o700
    return folder


def handle(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(python=tmp_path / "python", key="k1", path=None)


def ir_files(folder: Path, text: str) -> IRFiles:
    files = IRFiles.for_stem(folder / "m")
    folder.mkdir(parents=True, exist_ok=True)
    for p in (files.graph, files.weights, files.summary):
        p.write_text(text + p.suffix)
    return files


def test_same_source_and_options_find_the_entry(tmp_path, cache):
    src = tmp_path / "model.onnx"
    src.write_bytes(b"model bytes")
    request = {"inputs": [], "options": {}}
    key = ircache.key("onnx", [str(src)], handle(tmp_path), request, cache)
    assert ircache.fetch(cache, key, tmp_path / "out" / "m") is None
    ircache.store(cache, key, ir_files(tmp_path / "made", "v1"))
    got = ircache.fetch(cache, key, tmp_path / "out" / "m")
    assert got is not None and got.graph.read_text() == "v1.pb" and got.weights.read_text() == "v1.npz"
    assert os.stat(got.weights).st_nlink >= 2  # a link, not a copy

    assert ircache.key("onnx", [str(src)], handle(tmp_path), request, cache) == key
    assert ircache.key("onnx", [str(src)], handle(tmp_path), {"inputs": [["x", [1, 3]]], "options": {}}, cache) != key
    assert ircache.key("pytorch", [str(src)], handle(tmp_path), request, cache) != key
    other = SimpleNamespace(python=tmp_path / "python", key="k2", path=None)  # another environment
    assert ircache.key("onnx", [str(src)], other, request, cache) != key
    time.sleep(0.01)
    src.write_bytes(b"model bytes, changed")
    assert ircache.key("onnx", [str(src)], handle(tmp_path), request, cache) != key


def test_least_recently_used_go_first(tmp_path, cache):
    for i in range(3):
        ircache.store(cache, f"entry{i}", ir_files(tmp_path / f"made{i}", "x" * 100))
        os.utime(cache / f"entry{i}", (1000 + i, 1000 + i))
    ircache.fetch(cache, "entry0", tmp_path / "out" / "m")  # used now: the newest
    ircache.evict(cache, limit=2 * 3 * 110)
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == ["entry0", "entry2"]


def test_the_cache_command_shows_and_clears_what_is_kept(tmp_path, cache):
    """`mmbroker cache` counts entries by kind; `cache clear` removes them and the remembered
    digests, leaves a command's entry in the making alone, and an empty cache says so."""
    import json

    from helpers import run_cli

    ircache.store(cache, "abc", ir_files(tmp_path / "ir", "x" * 1000))
    (cache / "code-1").mkdir()
    (cache / "code-1" / "m.pth").write_bytes(b"w" * 2048)
    (cache / "ref-1").mkdir()
    (cache / ".tmp-def-1-aa").mkdir()  # a command writing an entry now
    (cache / ircache.DIGESTS).write_text("{}")
    r = run_cli("cache", "--json")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["entries"] == 3 and shown["folder"] == str(cache)
    assert shown["kinds"]["parsed IR"]["entries"] == 1 and shown["kinds"]["emitted code"]["bytes"] == 2048
    r = run_cli("cache")
    assert "parsed IR" in r.stdout and "emitted code" in r.stdout and "source outputs" in r.stdout
    r = run_cli("cache", "clear")
    assert r.exit_code == 0 and "removed 3 entries" in r.stderr, r.stderr
    assert sorted(p.name for p in cache.iterdir()) == [".tmp-def-1-aa"]
    assert "empty" in run_cli("cache").stderr

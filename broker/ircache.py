"""Parsed IR reused: converting the same model again, or to a second target, skips the parse.

Parsing is most of a warm conversion (MXNet ResNet-50: the mxnet.onnx export), and its result
depends only on what goes in. An entry of the cache (`$MMBROKER_HOME/ircache/<key>/`, private
to this user like the warm runners' pool) holds the canonical IR files `toir` wrote, keyed by:
- the source files' sha256 (each file's digest is remembered by path, inode, size and mtime, as
  git's index and ccache do, so an unchanged file is not read again);
- the framework, the parse options (--inputShape, --dstNode, --trust-model, --class, ...) and the
  IR opset;
- the parser's version: the same match key a warm runner must have (environment and its build,
  runner code, protocol: broker/warm.py), and the broker's IR code (broker/ir, broker/pipeline.py) with the installed
  files of onnx, onnx-ir and onnxscript, which canonicalize what the parser returns.

An entry is written to a temporary folder and renamed into place, and read by hard-linking its
files into the command's workspace (copied where links cannot be made), so an entry removed by
another command meanwhile breaks nothing. The cache keeps at most MMBROKER_IR_CACHE_MB (default
2048) MB, the least recently used entries going first. `MMBROKER_IR_CACHE=0` (or `--cold`) parses
every time.

The same folder keeps the outputs a source model gave on the check's inputs (`ref-<key>/`, keyed
by the parser's key as above, the source files, the inputs' bytes and what the model was asked
for): a conversion of the same model to a second target, or again, compares the new model with
those outputs instead of running the source model once more. The model, its framework's build and
the inputs being the same, they are the outputs it would give; the report says they were kept.

And the code a target emitted from a cached IR (`code-<key>/`, keyed by the IR's entry, the target
runner's match key, the broker's IR passes, the output name, emit options and the sizes the code
is made for): converting the same model to the same target again copies those files instead of
running the passes and the emitter (0.2 s of a warm ResNet-50 conversion to PyTorch; `emit cache`
in `--json`'s timings). Copies, not links: the output is linked from them. The saved model is
still checked as any other.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

from runners.common import ir as common_ir

from . import paths, warm
from .ir import IRFiles

DIGESTS = "digests.json"
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("MMBROKER_IR_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def limit_bytes() -> int:
    try:
        return int(float(os.environ.get("MMBROKER_IR_CACHE_MB", "2048")) * 1024 * 1024)
    except ValueError:
        return 2048 * 1024 * 1024


def root(create: bool = True) -> Path | None:
    """The cache folder, private to this user, or None when it cannot be."""
    folder = folder_path()
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            return None
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)
    except OSError:
        return None
    return folder


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():  # a SavedModel, an .mlpackage
        return sorted(p for p in path.rglob("*") if p.is_file())
    if not path.exists() and Path(str(path) + ".index").exists():  # a TF checkpoint prefix
        return sorted(path.parent.glob(path.name + ".*"))
    return [path]


def file_digest(path: Path, memo: dict[str, Any]) -> str:
    st = path.stat()
    stamp = [st.st_ino, st.st_size, st.st_mtime_ns]
    key = str(path.resolve())
    known = memo.get(key)
    if known and known[0] == stamp:
        return str(known[1])
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    memo[key] = [stamp, h.hexdigest()]
    return h.hexdigest()


def sources_digest(sources: list[str], folder: Path) -> str:
    memo_path = folder / DIGESTS
    with _lock:
        try:
            memo = json.loads(memo_path.read_text())
        except (OSError, ValueError):
            memo = {}
        h = hashlib.sha256()
        for s in sources:
            for f in _files_of(Path(s)):
                h.update(f"{os.path.relpath(f, s) if Path(s).is_dir() else ''}|{file_digest(f, memo)}\n".encode())
            h.update(b"\0")
        memo = {k: v for k, v in memo.items() if os.path.exists(k)}
        tmp = memo_path.with_name(f"{DIGESTS}.{os.getpid()}.part")
        try:
            tmp.write_text(json.dumps(memo))
            os.replace(tmp, memo_path)
        except OSError:
            pass
    return h.hexdigest()


@functools.cache
def _ir_code_stamp() -> str:
    """The broker's IR code and the libraries under it, by their files: each library's module file
    as found on the path, without importing it (onnx-ir alone takes half a second; onnx 50 ms, which
    a conversion served from the caches does without) nor its distribution's metadata (10 ms).
    Another release or a reinstall rewrites that file."""
    h = hashlib.sha256()
    for module in ("onnx", "onnx_ir", "onnxscript"):
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None and spec.origin else ""
        try:
            st = os.stat(origin)
            h.update(f"{module}|{origin}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{module}|missing\n".encode())
    base = Path(__file__).resolve().parent
    for f in [base / "pipeline.py", *sorted((base / "ir").rglob("*.py"))]:
        st = f.stat()
        h.update(f"{f.relative_to(base)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _runner_key(framework: str, handle: Any) -> str:
    """The match key of `framework`'s runner in environment `handle`: its version, as warm runners
    are matched."""
    return warm.match_key(framework, handle.python, getattr(handle, "key", ""), getattr(handle, "path", None))


def _digest(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:40]


def key(framework: str, sources: list[str], handle: Any, request: dict[str, Any], folder: Path) -> str:
    parts = {
        "framework": framework,
        "parser": _runner_key(framework, handle),
        "ir": _ir_code_stamp(),
        "opset": common_ir.IR_OPSET,
        "sources": sources_digest(sources, folder),
        "request": request,
    }
    return _digest(parts)


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def fetch(folder: Path, entry_key: str, stem: Path) -> IRFiles | None:
    """The cached IR placed at `stem`, or None when there is none."""
    entry = folder / entry_key
    cached = IRFiles.for_stem(entry / "ir")
    target = IRFiles.for_stem(stem)
    try:
        for src, dst in (
            (cached.weights, target.weights),
            (cached.summary, target.summary),
            (cached.graph, target.graph),
        ):
            _place(src, dst)
        os.utime(entry)  # recently used
    except OSError:
        return None
    return target


def _write_entry(folder: Path, entry_key: str, fill: Any) -> None:
    """Make the entry `entry_key` by fill(temporary folder), renamed into place whole; a no-op when
    it is already there or cannot be written."""
    entry = folder / entry_key
    if entry.exists():
        return
    tmp = folder / f".tmp-{entry_key}-{os.getpid()}-{os.urandom(3).hex()}"
    try:
        tmp.mkdir(mode=0o700)
        fill(tmp)
        os.rename(tmp, entry)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    evict(folder)


def store(folder: Path, entry_key: str, files: IRFiles) -> None:
    """Keep `files` under `entry_key`."""

    def fill(tmp: Path) -> None:
        cached = IRFiles.for_stem(tmp / "ir")
        for src, dst in ((files.graph, cached.graph), (files.weights, cached.weights), (files.summary, cached.summary)):
            _place(src, dst)

    _write_entry(folder, entry_key, fill)


def _size(entry: Path) -> int:
    total = 0
    for f in entry.iterdir():
        try:
            total += f.stat().st_size
        except OSError:
            pass
    return total


def evict(folder: Path, limit: int | None = None) -> None:
    """Remove the least recently used entries until the cache holds at most `limit` bytes, and
    temporary folders a killed command left more than an hour ago."""
    limit = limit_bytes() if limit is None else limit
    entries = []
    for e in folder.iterdir():
        try:
            mtime = e.stat().st_mtime
        except OSError:
            continue
        if e.name.startswith(".tmp-"):
            if time.time() - mtime > 3600:
                shutil.rmtree(e, ignore_errors=True)
        elif e.is_dir():
            entries.append((mtime, _size(e), e))
    total = sum(size for _, size, _ in entries)
    for _, size, e in sorted(entries):
        if total <= limit:
            break
        shutil.rmtree(e, ignore_errors=True)
        total -= size


# -- the source model's outputs on the check's inputs ----------------------------------------------
def inputs_digest(inputs: dict[str, Any]) -> str:
    """sha256 of named arrays: their names, types, shapes and bytes."""
    h = hashlib.sha256()
    for name in sorted(inputs):
        a = inputs[name]
        h.update(f"{name}|{a.dtype.str}|{list(a.shape)}\n".encode())
        h.update(memoryview(a.reshape(-1).view("uint8")) if a.flags.c_contiguous else a.tobytes())
    return h.hexdigest()


def reference_key(framework: str, sources: list[str], handle: Any, request: dict[str, Any],
                  inputs: dict[str, Any], folder: Path) -> str:  # fmt: skip
    return "ref-" + key(framework, sources, handle, {**request, "inputs_sha256": inputs_digest(inputs)}, folder)


def fetch_reference(folder: Path, entry_key: str) -> tuple[list[tuple[str, Any]], str] | None:
    """(outputs in order, engine) kept under `entry_key`, or None."""
    import numpy as np

    entry = folder / entry_key
    try:
        meta = json.loads((entry / "outputs.json").read_text())
        with np.load(entry / "outputs.npz", allow_pickle=False) as data:
            outs = [(name, data[f"o{i}"]) for i, name in enumerate(meta["names"])]
        os.utime(entry)
    except (OSError, ValueError, KeyError):
        return None
    return outs, str(meta["engine"])


def store_reference(folder: Path, entry_key: str, outputs: list[tuple[str, Any]], engine: str) -> None:
    import numpy as np

    if any(np.asarray(a).dtype.hasobject for _, a in outputs):  # kept without pickle only
        return

    def fill(tmp: Path) -> None:
        with open(tmp / "outputs.npz", "wb") as f:
            arrays: dict[str, Any] = {f"o{i}": np.asarray(a) for i, (_, a) in enumerate(outputs)}
            np.savez(f, allow_pickle=False, **arrays)
        (tmp / "outputs.json").write_text(json.dumps({"names": [n for n, _ in outputs], "engine": engine}))

    _write_entry(folder, entry_key, fill)


# -- the code a target emitted from a cached IR ----------------------------------------------------
EMITTED = ".emitted.json"


def emit_key(ir_entry: str, framework: str, handle: Any, request: dict[str, Any]) -> str:
    """The entry of what `framework` emits from the IR of cache entry `ir_entry`: keyed also by the
    emitter's version (the warm runners' match key: environment, its build, runner code,
    protocol), the broker's IR passes, the name, options and sizes the code is made for."""
    parts = {
        "ir": ir_entry,
        "emitter": _runner_key(framework, handle),
        "passes": _ir_code_stamp(),
        "request": request,
    }
    return "code-" + _digest(parts)


def fetch_emitted(folder: Path, entry_key: str, out_dir: Path) -> tuple[list[tuple[str, str]], list[str], str] | None:
    """([(file placed in out_dir, role)], what was said, the fixed-sizes note) kept under
    `entry_key`, or None. The files are copied, not linked: the output a user gets is linked from
    them, and rewriting it in place (torch.save to the same path) must not change the cache."""
    entry = folder / entry_key
    try:
        meta = json.loads((entry / EMITTED).read_text())
        files = [(str(name), str(role)) for name, role in meta["files"]]
        notes, fixed = [str(n) for n in meta["notes"]], str(meta["fixed"])
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, _ in files:
            shutil.copyfile(entry / name, out_dir / name)
        os.utime(entry)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [(str(out_dir / name), role) for name, role in files], notes, fixed


def store_emitted(folder: Path, entry_key: str, files: list[tuple[str, str]], out_dir: Path, notes: list[str],
                  fixed: str) -> None:  # fmt: skip
    """Keep the emitted `files` ([(path, role)], each a file right in `out_dir`) under `entry_key`,
    copied (see fetch_emitted)."""
    paths = [Path(p) for p, _ in files]
    names = [p.name for p in paths]
    if any(p.parent != out_dir.resolve() or not p.is_file() for p in paths) or len(set(names)) != len(names):
        return  # a folder or a file elsewhere: not kept
    if EMITTED in names:
        return

    def fill(tmp: Path) -> None:
        for p in paths:
            shutil.copyfile(p, tmp / p.name)
        meta = {"files": [[p.name, role] for p, (_, role) in zip(paths, files)], "notes": notes, "fixed": fixed}
        (tmp / EMITTED).write_text(json.dumps(meta))

    _write_entry(folder, entry_key, fill)


# -- what the cache holds (`mmbroker cache`) --------------------------------------------------------
KINDS = (("code-", "emitted code"), ("ref-", "source outputs"), ("", "parsed IR"))


def folder_path() -> Path:
    """Where the cache is (or would be), whether or not it can be used."""
    return Path(os.environ.get("MMBROKER_IR_CACHE_DIR") or paths.home() / "ircache")


def _entries(folder: Path) -> list[Path]:
    """The entries of `folder` (not the temporary folders of entries being written)."""
    if not folder.is_dir():
        return []
    return [e for e in sorted(folder.iterdir()) if not e.name.startswith(".tmp-") and e.is_dir()]


def contents(folder: Path) -> list[tuple[str, int, float]]:
    """(kind, bytes, last use as a time stamp) of every entry in `folder`."""
    found = []
    for entry in _entries(folder):
        kind = next(label for prefix, label in KINDS if entry.name.startswith(prefix))
        try:
            found.append((kind, _size(entry), entry.stat().st_mtime))
        except OSError:
            continue  # removed meanwhile
    return found


def clear(folder: Path) -> tuple[int, int]:
    """Remove every entry and the remembered source digests: (entries, bytes) removed. Each entry
    is renamed away before it is removed, so a command running meanwhile finds it whole or not at
    all (and parses again); the files a command already placed are its own links."""
    removed = size = 0
    for entry in _entries(folder):
        gone = folder / f".tmp-clear-{entry.name}-{os.getpid()}"
        try:
            bytes_ = _size(entry)
            os.rename(entry, gone)
        except OSError:
            continue
        shutil.rmtree(gone, ignore_errors=True)
        removed, size = removed + 1, size + bytes_
    with contextlib.suppress(OSError):
        (folder / DIGESTS).unlink()
    return removed, size

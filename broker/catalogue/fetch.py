"""Fetching a catalogue entry's files: cache under $MMBROKER_HOME/downloads, resume, digest, mirror.

Each file is downloaded to `<cache>/<name>.part`, resumed with an HTTP Range request when a part is
there (a server that ignores the range answers 200 and the part starts over), checked against the
publisher's digest, then renamed to `<cache>/<name>`; a file already in the cache is checked again
and not fetched. The files are then copied into the output folder, each atomically. A digest
mismatch removes the part and writes nothing; so does a full disk. `--mirror DIR|URL` takes the same
file names from a local folder or another server (air-gapped sites).

Written on urllib rather than a download library: the one that fits (pooch) caches by its own
layout and knows no Range resume; what is needed here — resume, publisher digests of four kinds,
mirrors by file name, rich progress on stderr — is a few dozen lines on the standard library.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from runners.common.tensors import atomic_write

from .. import paths
from ..errors import BrokerError
from ..outputs import set_default_mode
from . import Entry, ModelFile

CHUNK = 1 << 16
TIMEOUT = 30.0


def cache_dir(entry: Entry) -> Path:
    return paths.home() / "downloads" / entry.framework / entry.name


def source_url(f: ModelFile, mirror: str | None) -> str:
    """Where to fetch `f`: its URL, or the same file name under a mirror (a folder or a URL)."""
    if not mirror:
        return f.url
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + urllib.parse.quote(f.name)
    return Path(mirror, f.name).resolve().as_uri()


def digest_of(path: Path, algorithm: str) -> str:
    h = hashlib.new("sha256" if algorithm.startswith("sha256") else algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_digest(path: Path, f: ModelFile) -> str:
    """'' when `path` has the publisher's digest (or none is stated), else the digest it has."""
    if not f.digest:
        return ""
    got = digest_of(path, f.algorithm)
    ok = got.startswith(f.expected) if f.algorithm == "sha256-prefix" else got == f.expected
    return "" if ok else got


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
        disable=console is None,
    )


def _open(url: str, start: int) -> tuple[BinaryIO, int | None, bool]:
    """(stream, total size if known, whether it resumes at `start`)."""
    if url.startswith("file:"):  # a --mirror folder
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        try:
            fh = open(path, "rb")
        except OSError as exc:
            raise BrokerError(
                f"cannot read {path}: {exc.strerror or exc}",
                reference="download-failed",
                file=str(path),
                hint="the --mirror folder must hold the catalogue's file names",
            ) from None
        size = os.fstat(fh.fileno()).st_size
        resumed = 0 < start <= size
        fh.seek(start if resumed else 0)
        return fh, size, resumed
    req = urllib.request.Request(url, headers={"User-Agent": "mmbroker"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    try:
        resp = urllib.request.urlopen(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the range starts at or past the end: fetch it whole again
            return _open(url, 0)
        raise BrokerError(
            f"HTTP {exc.code} {exc.reason} for {url}",
            reference="download-failed",
            hint="check the URL or the --mirror; the server refused the file",
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        reason = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise BrokerError(
            f"cannot fetch {url}: {reason}",
            reference="download-failed",
            hint="check the network, or fetch from a local copy with --mirror DIR|URL",
        ) from None
    resumed = bool(start) and resp.status == 206
    length = resp.headers.get("Content-Length")
    total = int(length) + (start if resumed else 0) if length and length.isdigit() else None
    return resp, total, resumed


def _disk_full(path: Path, exc: OSError) -> BrokerError:
    return BrokerError(
        f"no space left while writing {path.name} ({exc.strerror or exc}); the partial file was removed",
        reference="output-not-writable",
        file=str(path),
        hint=f"free space in {path.parent} (or set MMBROKER_HOME to a larger disk) and run the download again",
    )


def fetch_file(f: ModelFile, folder: Path, mirror: str | None, console: Console | None) -> tuple[Path, str]:
    """Download `f` into the cache `folder`; returns (path, what happened)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f.name
    part = folder / (f.name + ".part")
    if final.is_file():
        if not check_digest(final, f):
            return final, "cached"
        final.unlink()  # a cached file that no longer has its digest is fetched again
    url = source_url(f, mirror)
    start = part.stat().st_size if part.is_file() else 0
    stream, total, resumed = _open(url, start)
    if not resumed:
        start = 0
    try:
        with stream, _progress(console) as progress:
            task = progress.add_task(f.name, total=total, completed=start)
            _copy_stream(stream, part, "ab" if resumed else "wb", lambda n: progress.advance(task, n))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            part.unlink(missing_ok=True)
            raise _disk_full(part, exc) from None
        raise BrokerError(
            f"the download of {f.name} broke off: {exc}",
            reference="download-failed",
            hint="run the same command again: it resumes where it stopped",
        ) from None
    got = check_digest(part, f)
    if got:
        part.unlink(missing_ok=True)
        raise BrokerError(
            f"{f.name} from {url} does not have the publisher's digest: expected {f.digest}, got "
            f"{f.algorithm}:{got[: len(f.expected)] if f.algorithm == 'sha256-prefix' else got}; nothing was kept",
            reference="digest-mismatch",
            file=f.name,
            hint="the file was changed or corrupted on the way; try again, or another --mirror",
        )
    os.replace(part, final)
    return final, ("resumed" if resumed else "downloaded") + ("" if f.digest else " (unverified)")


def _copy_stream(stream: BinaryIO, part: Path, mode: str, advance: Callable[[int], None]) -> None:
    with open(part, mode) as out:
        while True:
            block = stream.read(CHUNK)
            if not block:
                break
            out.write(block)
            advance(len(block))


def place(cached: Path, out_dir: Path, name: str) -> Path:
    """Copy a cached file into the output folder, atomically."""
    target = out_dir / name
    try:
        atomic_write(str(target), lambda tmp: shutil.copyfile(cached, tmp))
        set_default_mode(target)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _disk_full(target, exc) from None
        raise BrokerError(
            f"cannot write {target}: {exc.strerror or exc}",
            reference="output-not-writable",
            file=str(target),
            hint="choose an output folder you can write to (-o DIR)",
        ) from None
    return target

"""Writing a result without destroying anything.

A model is saved into a temporary folder beside the output (`.<name>.<random>.mmbroker-tmp`, in the
output's folder, so on the same filesystem), checked there, and only then promoted: every file the
runner wrote (a Caffe `.prototxt` + `.caffemodel` pair, MXNet's `-symbol.json` + `-0000.params`, a
Keras model's `.irmap.json`, ONNX external data, a SavedModel or `.mlpackage` folder) replaces its
namesake in the output folder, all of them or none. On any failure, Ctrl-C and SIGTERM included,
the temporary folder is removed and the files at the output are untouched; with `--keep-failed`
the unverified result is moved to `<output name>.failed/` instead (`.failed-2/`, ... when taken).

Nothing is written through a symbolic link: an `-om` that is a link is refused before any work
(`output-not-writable`); another file of the result whose name is a link (a Caffe `.caffemodel`
beside the `.prototxt` named by `-om`) replaces the link itself, never its target. Promoted files
get the mode of the file they replace, or the umask's default for new files.

Written here rather than with a library: the promotion is a few renames, and what it must
guarantee (several files together, links never followed, signals held off while it runs) is
specific to how runners write their outputs.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import BrokerError

STAGING_SUFFIX = ".mmbroker-tmp"
FAILED_SUFFIX = ".failed"
FOLDER_SUFFIXES = (".mlpackage", "")  # outputs that are folders: an ML Program, a SavedModel
_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _not_writable(message: str, path: Path, hint: str) -> BrokerError:
    return BrokerError(message, reference="output-not-writable", file=str(path), hint=hint)


def _existing_ancestor(folder: Path) -> Path:
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def check_output(output: Path) -> Path:
    """Before any work: the absolute output path, once it is known that a result can be put there.

    Refused (`output-not-writable`): an `-om` that is a symbolic link, an existing folder where a
    file is written, a folder path through a file, a folder that does not accept new files."""
    out = Path(os.path.abspath(output))
    if out.is_symlink():
        raise _not_writable(
            f"the output is a symbolic link (to {os.readlink(out)}); mmbroker does not write through links",
            out,
            "give the path of the file to write (the link's target, or a new name); remove the link to replace it",
        )
    if out.is_dir() and out.suffix.lower() not in FOLDER_SUFFIXES:
        raise _not_writable("the output is an existing folder", out, "give the path of a file to write")
    check_folder(out.parent, out)
    return out


def check_folder(folder: Path, path: Path | None = None) -> None:
    """`folder` exists and takes new files, or can be made where it would be (`output-not-writable`,
    about `path` when given)."""
    about = path or folder
    found = _existing_ancestor(Path(os.path.abspath(folder)))
    if not found.is_dir():
        raise _not_writable(f"{found} is not a folder", about, "give an output path inside a folder")
    try:  # the only reliable test of "can create files here" (root, ACLs, read-only mounts)
        os.rmdir(tempfile.mkdtemp(prefix=f".{about.name}.", suffix=STAGING_SUFFIX, dir=found))
    except OSError as exc:
        raise _not_writable(
            f"cannot create files in {found}: {exc.strerror or exc}",
            about,
            "write the output to a folder you can write to, or fix the folder's permissions",
        ) from None


@contextmanager
def _terminate_raises() -> Iterator[None]:
    """While a result is staged, SIGTERM and SIGHUP end the broker through SystemExit (so the
    staging folder is removed on the way out) when nothing else handles them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the renames are done, then act as they would have.

    Python runs signal handlers in the main thread, so replacing the handlers holds them off
    whichever thread the signal reaches (a thread's signal mask would not: gRPC has threads)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[signal.Signals] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signal.Signals(signum))) for sig in _HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in caught[:1]:  # the first signal acts as it would have, now
            handler = previous[sig]
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), sig)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def set_default_mode(path: Path) -> None:
    """The mode a new file gets from the umask (a file written through mkstemp starts at 0600)."""
    os.chmod(path, 0o666 & ~_umask())


def _set_mode(entry: Path, target: Path, umask: int) -> None:
    """The mode the promoted entry gets: that of the regular file it replaces, else the default."""
    try:
        st = os.lstat(target)
        if stat.S_ISREG(st.st_mode) and entry.is_file() and not entry.is_symlink():
            os.chmod(entry, stat.S_IMODE(st.st_mode))
            return
    except FileNotFoundError:
        pass
    _default_modes(entry, umask)


def _default_modes(entry: Path, umask: int) -> None:
    if entry.is_symlink():
        return
    if entry.is_dir():
        os.chmod(entry, 0o777 & ~umask)
        for root, dirs, files in os.walk(entry):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o777 & ~umask)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p) and os.stat(p).st_mode & 0o777 == 0o600:  # a mkstemp file
                    os.chmod(p, 0o666 & ~umask)
    else:
        os.chmod(entry, 0o666 & ~umask)


class StagedOutput:
    """with StagedOutput(output) as stage: save to stage.path, check, then stage.promote().

    Leaving the block without promote() removes the staged files, or with keep_failed moves them
    to `<output name>.failed/` (only when something was saved: `stage.saved(...)`). `note` says
    what happened to the output, for messages; `kept` is where a failed result went."""

    def __init__(
        self,
        output: Path,
        keep_failed: bool = False,
        extras: tuple[list[str], Path] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.output = Path(os.path.abspath(output))
        self.say = say  # prints the note when the block is left by Ctrl-C, SIGTERM, ...
        self.keep_failed = keep_failed
        self.extras = extras  # (files, their root folder) kept with a failed result under code/
        self.dir: Path | None = None
        self.kept: Path | None = None
        self.promoted: list[str] = []
        self.note = ""
        self._saved = False
        self._created: list[Path] = []
        self._signals: Any = None

    @property
    def path(self) -> Path:
        """Where the runner saves: the output's name, inside the staging folder."""
        assert self.dir is not None, "use StagedOutput as a context manager"
        return self.dir / self.output.name

    def __enter__(self) -> StagedOutput:
        self._signals = _terminate_raises()
        self._signals.__enter__()
        try:
            self._created = [p for p in [self.output.parent, *self.output.parent.parents] if not p.exists()]
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self.dir = Path(tempfile.mkdtemp(prefix=f".{self.output.name}.", suffix=STAGING_SUFFIX,
                                             dir=self.output.parent))  # fmt: skip
        except OSError as exc:
            self._signals.__exit__(None, None, None)
            raise _not_writable(f"cannot create files in {self.output.parent}: {exc.strerror or exc}",
                                self.output, "write the output to a folder you can write to") from None  # fmt: skip
        return self

    def saved(self, files: list[str]) -> list[str]:
        """Record that the runner saved `files` (they must all be in the staging folder)."""
        assert self.dir is not None
        outside = [f for f in files if not Path(os.path.abspath(f)).is_relative_to(self.dir)]
        if outside:
            raise BrokerError(f"the runner wrote {outside} outside the folder it was given ({self.dir})",
                              reference="internal-bug", hint="report this bug")  # fmt: skip
        self._saved = True
        return files

    def final(self, path: str) -> str:
        """Where a staged file ends up once promoted."""
        assert self.dir is not None
        p = Path(os.path.abspath(path))
        return str(self.output.parent / p.relative_to(self.dir)) if p.is_relative_to(self.dir) else path

    def promote(self) -> list[str]:
        """Move everything staged into the output folder: all of it, or (on an error) none of it,
        the files that were there put back. Returns the output folder's new entries."""
        assert self.dir is not None
        parent = self.output.parent
        entries = sorted(e for e in self.dir.iterdir())
        for e in entries:
            target = parent / e.name
            if target.is_dir() and not target.is_symlink() and not e.is_dir():
                raise _not_writable(f"{target} is a folder; the result has a file of that name", target,
                                    "move the folder away, or choose another output name")  # fmt: skip
            if e.is_dir() and os.path.lexists(target) and not target.is_dir():
                raise _not_writable(f"{target} is a file; the result is a folder of that name", target,
                                    "move the file away, or choose another output name")  # fmt: skip
        umask = _umask()
        for e in entries:
            _set_mode(e, parent / e.name, umask)
        backup = Path(tempfile.mkdtemp(prefix=".replaced.", dir=self.dir))
        moved_away: list[tuple[Path, Path]] = []  # (backup, target)
        placed: list[Path] = []
        with _signals_held():
            try:
                for e in entries:
                    target = parent / e.name
                    if os.path.lexists(target):
                        old = backup / e.name
                        os.rename(target, old)
                        moved_away.append((old, target))
                    os.rename(e, target)
                    placed.append(target)
            except OSError as exc:
                _undo(placed, moved_away, self.dir)
                raise _not_writable(f"cannot put the result in place: {exc}", self.output,
                                    "check the output folder's permissions and free space") from None  # fmt: skip
            self.promoted = [str(p) for p in placed]
        shutil.rmtree(self.dir, ignore_errors=True)  # with the replaced files
        return self.promoted

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if not self.promoted:
                self._discard_or_keep()
                what = "nothing was written" if not os.path.lexists(self.output) else f"{self.output} is unchanged"
                if self.kept is not None:
                    self.note = f"{what}; the unverified result is in {self.kept}/"
                elif self._saved:
                    self.note = f"{what}; --keep-failed keeps the unverified result"
                else:
                    self.note = what
                if exc is not None and not isinstance(exc, BrokerError) and self.say is not None:
                    self.say(self.note)
                if isinstance(exc, BrokerError):
                    exc.hint = f"{exc.hint} ({self.note})" if exc.hint else self.note
                    if self.dir is not None:  # name the files as the user will know them
                        exc.file = self.final(exc.file) if exc.file else exc.file
                        exc.message = exc.message.replace(str(self.dir), str(self.output.parent))
        finally:
            self._signals.__exit__(exc_type, exc, tb)

    def _discard_or_keep(self) -> None:
        if self.dir is None or not self.dir.exists():
            return
        if not (self.keep_failed and self._saved):
            shutil.rmtree(self.dir, ignore_errors=True)
            for folder in self._created:  # the output's folders made for this run, innermost first
                try:
                    folder.rmdir()
                except OSError:
                    break
            return
        if self.extras is not None:
            copy_into(self.extras[0], self.extras[1], self.dir / "code")
        kept = self.output.parent / (self.output.name + FAILED_SUFFIX)
        n = 2
        while os.path.lexists(kept):
            kept = self.output.parent / f"{self.output.name}{FAILED_SUFFIX}-{n}"
            n += 1
        _default_modes(self.dir, _umask())
        os.rename(self.dir, kept)
        self.kept = kept


def _undo(placed: list[Path], moved_away: list[tuple[Path, Path]], staging: Path) -> None:
    """Put the output folder back as it was: new entries back into staging, old ones back."""
    for target in placed:
        try:
            os.rename(target, staging / target.name)
        except OSError:
            pass
    for old, target in moved_away:
        try:
            os.rename(old, target)
        except OSError:
            pass


def copy_into(paths: list[str], root: Path, dest: Path) -> list[str]:
    """Copy `paths` (files or folders under `root`) to the same places under `dest`, each file
    replaced atomically and links replaced rather than followed (the generated code of --code-dir,
    once the conversion has passed)."""
    from runners.common.tensors import atomic_write, link_or_copy

    umask = _umask()
    written = []
    for path in paths:
        base = Path(path)
        for p in sorted(base.rglob("*")) if base.is_dir() else [base]:
            if not p.is_file():
                continue
            target = dest / p.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            atomic_write(str(target), lambda tmp, p=p: link_or_copy(str(p), tmp))
            os.chmod(target, 0o666 & ~umask)
            written.append(str(target))
    return written

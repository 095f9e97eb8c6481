"""Checks every runner makes on the files it is given, with errors that name the file."""

import os
import sys

from .errors import RunnerError


def file_stamp(path):
    """What tells versions of a file apart without reading it: device, inode, size and change
    times (the files a runner reads are replaced by renames, never rewritten in place)."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, getattr(st, "st_mtime_ns", st.st_mtime), getattr(st, "st_ctime_ns", 0))


def require_file(path, what="model file", folder_ok=False):
    """`path` names an existing file (or folder, where the format is one), not empty."""
    if not path:
        raise RunnerError("missing-file", "no %s given" % what, hint="pass the %s with -in/--input-file" % what)
    if not os.path.exists(path):
        raise RunnerError(
            "missing-file",
            "%s not found" % what,
            file=path,
            hint="check the path; relative paths are taken from the current directory",
        )
    if os.path.isdir(path) and not folder_ok:
        raise RunnerError(
            "not-a-file", "this is a folder, not a %s" % what, file=path, hint="give the %s itself" % what
        )
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise RunnerError(
            "corrupt-model", "the %s is empty" % what, file=path, hint="the file was truncated; copy or export it again"
        )
    return path


def corrupt(path, exc, what="model"):
    text = str(exc).strip()
    reason = text.splitlines()[0][:300] if text else type(exc).__name__
    return RunnerError(
        "corrupt-model",
        "cannot read this %s: %s" % (what, reason),
        file=path,
        hint="the file is truncated, damaged or not a valid %s; copy or export it again" % what,
    )


def check_inputs(expected, given, file=""):
    """expected: list of (name, shape with None for dynamic); given: {name: array}.

    Raises `bad-input` naming every mismatch."""
    problems = []
    names = [n for n, _ in expected]
    if len(given) != len(expected):
        problems.append(
            "the model takes %d input(s) %s, %d given (%s)" % (len(expected), names, len(given), sorted(given))
        )
    for name, shape in expected:
        if name not in given:
            if len(given) == len(expected):
                problems.append("input '%s' missing (given: %s)" % (name, sorted(given)))
            continue
        arr = given[name]
        if shape is not None and (
            len(shape) != arr.ndim or any(d is not None and d > 0 and d != a for d, a in zip(shape, arr.shape))
        ):
            problems.append(
                "input '%s' expects shape %s, given %s"
                % (name, ["?" if d is None or d <= 0 else d for d in shape], list(arr.shape))
            )
    if problems:
        raise RunnerError(
            "bad-input",
            "; ".join(problems),
            file=file,
            hint="give inputs of the model's shape (--inputShape / --input)",
        )


def named_inputs(tensors, names):
    """Protocol tensors -> {input name: array}; unnamed tensors are taken in the model's order."""
    from .tensors import from_proto

    out = {}
    for i, t in enumerate(tensors):
        name = t.name or (names[i] if i < len(names) else "input_%d" % i)
        out[name] = from_proto(t)
    return out


def exec_file(name, path, register=False):
    """The module made by running the Python file `path` (a model's code, emitted or the user's),
    named `name` (and put in sys.modules first when `register`: pickled and dataclass classes look
    their module up there). Its bytecode is not written beside it: a __pycache__ folder in the
    user's output folder is a file nobody asked for."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if register:
            sys.modules.pop(name, None)
        raise
    finally:
        sys.dont_write_bytecode = before
    return module


def load_code(path, function, what="generated code"):
    """Import the Python file `path` (emitted code) and check that it defines `function`."""
    try:
        module = exec_file("mmbroker_emitted_%d" % abs(hash(path)), path)
    except Exception as exc:
        raise RunnerError("bad-code", "the %s does not run: %s" % (what, exc), file=path)
    if not callable(getattr(module, function, None)):
        raise RunnerError("bad-code", "expected a function %s in the %s" % (function, what), file=path)
    return module

"""Loading PyTorch models from files: .pt2 (torch.export), TorchScript .pt, state_dict .pth with a
class file, generated code, and (only when trusted) pickled nn.Module files."""

import ast
import hashlib
import importlib.util
import json
import os
import sys
import zipfile

from runners.common.errors import RunnerError

TRUST_HINT = "pass --trust-model if you trust it"
# Stored in .pt2 files saved from generated code: {"inputs": [...], "outputs": [...]} IR names
NAMES_FILE = "mmbroker_names.json"


class Loaded(object):
    """A runnable model: `module` (callable), `kind` and, for code, the loaded Python module."""

    def __init__(self, module, kind, path, code=None, code_path=None, exported=None):
        self.module = module
        self.kind = kind  # pt2, torchscript, state_dict, pickle
        self.path = path
        self.code = code  # Python module of the class file, if any
        self.code_path = code_path
        self.exported = exported  # torch.export.ExportedProgram for .pt2
        self.names = None  # IR input/output names recorded in a .pt2 saved by this runner


def _missing(path):
    return RunnerError(
        "missing-file", "file not found", file=path, hint="check the path; relative paths are resolved by the broker"
    )


def _corrupt(path, exc):
    return RunnerError(
        "corrupt-model",
        "cannot read the model: %s" % _short(exc),
        file=path,
        hint="the file is truncated, corrupt or not a PyTorch model",
    )


def _short(exc):
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[0] if text else "")


def check_files(paths):
    for p in paths:
        if not os.path.isfile(p):
            raise _missing(p)


def archive_kind(path):
    """'torchscript', 'torch-save' (zip), 'legacy' (not a zip) for a .pt/.pth file."""
    if not zipfile.is_zipfile(path):
        return "legacy"
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _corrupt(path, exc)
    if any(n.split("/", 1)[-1].startswith("code/") or n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return "torch-save"
    if any(n.endswith(".json") and "archive_format" in n for n in names) or any(
        "/models/" in n or n.startswith("models/") for n in names
    ):
        return "pt2"
    return "torch-save"


def load_pt2(path):
    import torch

    check_files([path])
    extra = {NAMES_FILE: ""}
    try:
        ep = torch.export.load(path, extra_files=extra)
    except Exception as exc:
        raise _corrupt(path, exc)
    loaded = Loaded(ep.module(), "pt2", path, exported=ep)
    if extra.get(NAMES_FILE):
        try:
            loaded.names = json.loads(extra[NAMES_FILE])
        except ValueError:
            pass
    return loaded


def load_torchscript(path):
    import torch

    check_files([path])
    try:
        m = torch.jit.load(path, map_location="cpu")
    except Exception as exc:
        raise _corrupt(path, exc)
    m.eval()
    return Loaded(m, "torchscript", path)


def import_code(path):
    """Import a Python class file as a fresh module (its directory importable during the call)."""
    check_files([path])
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
    name = "mmbroker_user_%s_%s" % (os.path.splitext(os.path.basename(path))[0], digest)
    try:
        with open(path) as f:
            ast.parse(f.read(), path)
    except SyntaxError as exc:
        raise RunnerError("corrupt-model", "the class file does not parse: %s" % exc, file=path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise RunnerError(
            "bad-code",
            "importing the class file failed: %s" % _short(exc),
            file=path,
            hint="the class file must import with only torch installed",
        )
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def find_class(module, path, class_name=""):
    import torch.nn as nn

    if class_name:
        cls = getattr(module, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise RunnerError("bad-code", "no nn.Module class named '%s'" % class_name, file=path)
        return cls
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise RunnerError(
            "bad-code",
            "%s nn.Module classes defined (%s); say which one"
            % ("no" if not found else len(found), ", ".join(c.__name__ for c in found)),
            file=path,
            hint="pass the option class=<ClassName>",
        )
    return found[0]


def load_state_dict(path):
    """torch.load(weights_only=True): never runs code from the file."""
    import pickle

    import torch

    check_files([path])
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise RunnerError(
            "unsafe-model",
            "the file holds pickled Python objects (such as a whole nn.Module), "
            "and loading them runs code from the file",
            file=path,
            hint=TRUST_HINT,
        )
    except Exception as exc:
        text = str(exc)
        if "Weights only load failed" in text or "Unsupported global" in text:
            raise RunnerError(
                "unsafe-model",
                "the file holds pickled Python objects, which can run code when loaded",
                file=path,
                hint=TRUST_HINT,
            )
        raise _corrupt(path, exc)


def _unwrap_state_dict(obj, path):
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(k, str) for k in inner):
                return inner
        return obj
    raise RunnerError("corrupt-model", "expected a state_dict, found %s" % type(obj).__name__, file=path)


def load_class_and_weights(pth, py, class_name="", trust=False):
    import torch

    module = import_code(py)
    try:
        state = load_state_dict(pth)
    except RunnerError as err:
        if err.reference != "unsafe-model" or not trust:
            raise
        # a pickled whole module whose class lives in the class file (often saved from __main__)
        return load_pickled_module(pth, trust, module)
    cls = find_class(module, py, class_name)
    state = _unwrap_state_dict(state, pth)
    try:
        model = cls()
    except Exception as exc:
        raise RunnerError(
            "bad-code",
            "%s() failed: %s" % (cls.__name__, _short(exc)),
            file=py,
            hint="the class must be constructible without arguments",
        )
    try:
        model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})
    except RuntimeError as exc:
        raise RunnerError(
            "weights-mismatch",
            "state_dict does not fit %s: %s" % (cls.__name__, str(exc).strip().splitlines()[0][:500]),
            file=pth,
        )
    model.eval()
    return Loaded(model, "state_dict", pth, code=module, code_path=py)


def _pickle_module_with(code):
    """A pickle module for torch.load that finds classes missing from their recorded module
    (such as __main__.Net) in the user's class file."""
    import pickle
    import types

    class Unpickler(pickle.Unpickler):
        def find_class(self, mod, name):
            try:
                return super(Unpickler, self).find_class(mod, name)
            except (ImportError, AttributeError):
                if hasattr(code, name):
                    return getattr(code, name)
                raise

    pm = types.ModuleType("mmbroker_pickle")
    pm.__dict__.update({k: getattr(pickle, k) for k in dir(pickle) if not k.startswith("__")})
    pm.Unpickler = Unpickler
    return pm


def load_pickled_module(path, trust, code=None):
    import torch

    if not trust:
        raise RunnerError(
            "unsafe-model",
            "the file holds pickled Python objects (such as a whole "
            "nn.Module), and loading them runs code from the file",
            file=path,
            hint=TRUST_HINT,
        )
    try:
        kw = {"pickle_module": _pickle_module_with(code)} if code is not None else {}
        model = torch.load(path, map_location="cpu", weights_only=False, **kw)
    except (AttributeError, ImportError) as exc:
        raise RunnerError(
            "missing-file",
            "the pickled model needs a class that cannot be imported: %s" % _short(exc),
            file=path,
            hint="pass the .py file defining the model's class as a second source",
        )
    except Exception as exc:
        raise _corrupt(path, exc)
    if not isinstance(model, torch.nn.Module):
        raise RunnerError("corrupt-model", "expected an nn.Module, found %s" % type(model).__name__, file=path)
    model.eval()
    return Loaded(model, "pickle", path, code=code)


def load(paths, trust=False, class_name=""):
    """Load a model from the files given (one model file, plus a .py class file for .pth)."""
    check_files(paths)
    py = [p for p in paths if p.endswith(".py")]
    others = [p for p in paths if not p.endswith(".py")]
    if len(others) != 1 or len(py) > 1:
        raise RunnerError(
            "bad-option",
            "expected one model file (.pt2, .pt, .pth) and at most one .py class file, got: %s" % ", ".join(paths),
        )
    path = others[0]
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pt2":
        return load_pt2(path)
    kind = archive_kind(path)
    if kind == "pt2":
        return load_pt2(path)
    if kind == "torchscript":
        return load_torchscript(path)
    if not py:
        beside = os.path.splitext(path)[0] + ".py"
        if os.path.isfile(beside):
            py = [beside]
    if py:
        return load_class_and_weights(path, py[0], class_name, trust)
    # no class file: a state_dict alone cannot run; a pickled module needs trust
    try:
        obj = load_state_dict(path)
    except RunnerError as err:
        if err.reference == "unsafe-model":
            return load_pickled_module(path, trust)
        raise
    raise RunnerError(
        "missing-file",
        "%s holds a state_dict (%d tensors) but no class file was "
        "given" % (os.path.basename(path), len(obj) if hasattr(obj, "__len__") else 0),
        file=path,
        hint="pass the model's .py class file as a second source (option class=<ClassName> if it defines several)",
    )

"""Loading PyTorch models from files: .pt2 (torch.export), state_dict .pth with a class file,
generated code, and (only when trusted) TorchScript archives and pickled nn.Module files.

Nothing from an untrusted file runs: a .pt2 is vetted by `pt2_check` before torch reads it,
state dicts are read with torch.load(weights_only=True), and a file that holds code (pickled
objects, TorchScript programs) is refused with `unsafe-model` unless the caller trusts it."""

import ast
import contextlib
import hashlib
import json
import os
import sys
import threading
import zipfile

from runners.common.errors import RunnerError
from runners.common.loading import exec_file

from . import pickle_scan, pytree_standins

TRUST_HINT = "nothing was executed; if you trust this file, run again with --trust-model"
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


def load_pt2(path, trust=False):
    from . import pt2_check

    check_files([path])
    extra = {NAMES_FILE: ""}
    with open(path, "rb") as f:  # one open file for the check and the load: no swap in between
        if not trust:
            pt2_check.check(f, path)
        ep, module = _export_load(f, path, extra)
    loaded = Loaded(module, "pt2", path, exported=ep)
    if extra.get(NAMES_FILE):
        try:
            loaded.names = json.loads(extra[NAMES_FILE])
        except ValueError:
            pass
    return loaded


def pt2_output_names(ep):
    """The names of an exported program's outputs: a returned mapping's keys (a dict, or a
    ModelOutput-like container: `last_hidden_state`, `logits`) when each key holds one tensor,
    else the names torch gave the output nodes."""
    spec = getattr(getattr(ep, "call_spec", None), "out_spec", None)
    keys = getattr(spec, "context", None)
    children = getattr(spec, "children_specs", None) or []
    container = getattr(spec, "type", None)
    mapping = isinstance(container, type) and issubclass(container, dict)
    if mapping and isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        if len(keys) == len(children) and all(c.is_leaf() for c in children) and len(set(keys)) == len(keys):
            return list(keys)
    return list(ep.graph_signature.user_outputs)


def _export_load(f, path, extra):
    """torch.export.load and the program's module. torch logs why the archive failed and raises
    a generic "error when deserializing": the logged exception is the one to explain."""
    import logging

    import torch

    logged = []

    class Keep(logging.Handler):
        def emit(self, record):
            if record.exc_info and record.exc_info[1] is not None:
                logged.append(record.exc_info[1])

    logger, keep = logging.getLogger("torch.export"), Keep()
    logger.addHandler(keep)
    start = f.tell()
    try:
        while True:
            try:
                ep = torch.export.load(f, extra_files=extra)
                return ep, ep.module()
            except Exception as exc:
                cause = logged[-1] if logged else exc
                # an output container from a library this environment lacks: register a stand-in
                # under its name and read the file again
                name = pytree_standins.missing_type(cause)
                if not name or not pytree_standins.register(name):
                    raise _pt2_failure(path, cause)
                del logged[:]
                f.seek(start)
    finally:
        logger.removeHandler(keep)


def _pt2_failure(path, exc):
    import re

    import torch

    text = str(exc)
    op = re.search(r"failed to resolve (\S+) to an operator", text)
    if op:
        return RunnerError(
            "unsupported-op",
            "the program calls %s, an operator this torch (%s) does not have" % (op.group(1), torch.__version__),
            file=path,
            op=op.group(1),
            hint="a custom op needs its library: export the model with standard ops, or give its state_dict "
            "and class file",
        )
    if re.search(r"(schema|archive) version .* does not match", text, re.S):
        return RunnerError(
            "unsupported-format",
            "this .pt2 was written in a format torch %s does not read: %s" % (torch.__version__, _short(exc)),
            file=path,
            hint="export it again with torch %s (the pytorch runner's), or give the model's state_dict and class "
            "file" % torch.__version__.split("+")[0],
        )
    return _corrupt(path, exc)


# what TorchScript's own unpickler resolves: tensors, its classes (__torch__) and containers
TORCHSCRIPT_GLOBALS = ("torch.", "__torch__.", "collections.OrderedDict", "builtins.")


def load_torchscript(path, trust=False):
    """A TorchScript archive is a program: PyTorch's security policy says to run one only from a
    trusted source (torch.jit.load has no safe mode), so it needs --trust-model."""
    import torch

    check_files([path])
    if not trust:
        foreign = []
        try:
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.endswith(".pkl"):
                        scan = pickle_scan.scan_stream(z.read(name))
                        foreign += [
                            "%s imports %s" % (name.split("/", 1)[-1], g)
                            for g in scan.globals
                            if not g.startswith(TORCHSCRIPT_GLOBALS)
                        ]
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _corrupt(path, exc)
        raise RunnerError(
            "unsafe-model",
            "a TorchScript archive is a program, and loading it runs the code inside it%s"
            % (" (%s)" % ", ".join(foreign[:5]) if foreign else ""),
            file=path,
            hint=TRUST_HINT + "; or convert from the model's .pt2 (torch.export) or state_dict + class file",
        )
    try:
        m = torch.jit.load(path, map_location="cpu")
    except Exception as exc:
        if "Unknown builtin op" in str(exc) or "Unknown type name" in str(exc):
            raise RunnerError(
                "unsupported-op",
                "the TorchScript program needs what this torch (%s) does not have: %s"
                % (torch.__version__, _short(exc)),
                file=path,
                hint="custom ops and classes need their library; convert from the model's .pt2 or state_dict",
            )
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
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        module = exec_file(name, path, register=True)
    except Exception as exc:
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


def _unsafe_pickle(path, names):
    return RunnerError(
        "unsafe-model",
        "the file holds pickled Python objects (%s), and loading them runs code from the file"
        % (", ".join(names[:5]) if names else "such as a whole nn.Module"),
        file=path,
        hint=TRUST_HINT,
    )


def load_state_dict(path):
    """torch.load(weights_only=True): never runs code from the file. A refusal is explained by
    what the pickle imports: objects outside torch's safe set (unsafe-model), or nothing a pickle
    would hold (the file is no PyTorch file: corrupt-model)."""
    import torch

    check_files([path])
    if zipfile.is_zipfile(path):
        try:  # memory-mapped: the tensors are the file's pages, not a copy of them
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:
            pass  # read again without mmap: its error is the one explained below
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = exc
    scan = pickle_scan.scan_file(path)
    names = pickle_scan.unsafe(scan, pickle_scan.torch_allowed_globals())
    if names or (scan.parsed and "Weights only load failed" in str(first)):
        raise _unsafe_pickle(path, names)
    if not scan.parsed and not zipfile.is_zipfile(path):
        raise RunnerError(
            "corrupt-model",
            "not a PyTorch file: neither a zip archive (torch.save) nor a pickle",
            file=path,
            hint="give a .pt2 (torch.export), or a state_dict .pth saved with torch.save and its class file; "
            "the file may be truncated or of another framework",
        )
    raise _corrupt(path, first)


def _unwrap_state_dict(obj, path):
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(k, str) for k in inner):
                return inner
        return obj
    raise RunnerError("corrupt-model", "expected a state_dict, found %s" % type(obj).__name__, file=path)


def _same_layout(own, tensors):
    """Whether the loaded tensors can replace the module's own (load_state_dict assign=True, no
    copy of the weights beside the module's freshly initialized ones): the same keys, each of the
    same dtype, shape and device, both contiguous; otherwise they are copied in as usual."""
    if set(own) != set(tensors):
        return False
    for key, mine in own.items():
        theirs = tensors[key]
        if (mine.dtype, mine.shape, mine.device) != (theirs.dtype, theirs.shape, theirs.device):
            return False
        if not (mine.is_contiguous() and theirs.is_contiguous()):
            return False
    return True


# torch.nn.init's in-place initializers: layers call them from __init__ to fill new weights with
# random values (ResNet-50: 0.1 s of kaiming_uniform_ per load) that load_state_dict then replaces
_INITIALIZERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
                 "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
                 "sparse_")  # fmt: skip
_init_lock = threading.Lock()


@contextlib.contextmanager
def _weights_not_initialized():
    """Build a module without filling its weights: the initializers of torch.nn.init return their
    tensor untouched for the length of the block. Used only before a strict load_state_dict, which
    fails unless it replaces every parameter and buffer the state_dict covers."""
    import torch.nn.init as init

    def keep(tensor, *args, **kwargs):
        return tensor

    with _init_lock:
        saved = {name: getattr(init, name) for name in _INITIALIZERS if hasattr(init, name)}
        try:
            for name in saved:
                setattr(init, name, keep)
            yield
        finally:
            for name, fn in saved.items():
                setattr(init, name, fn)


def load_class_and_weights(pth, py, class_name="", trust=False):
    import torch

    module = import_code(py)
    try:
        state = load_state_dict(pth)
    except RunnerError as err:
        if err.reference != "unsafe-model" or not trust:
            raise
        # a pickled whole module whose class lives in the class file (often saved from __main__)
        return load_pickled_module(pth, module)
    cls = find_class(module, py, class_name)
    state = _unwrap_state_dict(state, pth)
    try:
        with _weights_not_initialized():  # every weight is replaced by the file's (a strict load)
            model = cls()
        if set(dict(model.named_buffers())) - set(model.state_dict()):
            model = cls()  # a buffer the state_dict does not hold keeps what __init__ gives it
    except Exception as exc:
        raise RunnerError(
            "bad-code",
            "%s() failed: %s" % (cls.__name__, _short(exc)),
            file=py,
            hint="the class must be constructible without arguments",
        )
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    try:
        model.load_state_dict(tensors, assign=_same_layout(model.state_dict(), tensors))
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


def load_pickled_module(path, code=None):
    """torch.load(weights_only=False): runs code from the file; only for files the user trusts."""
    import torch

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
            hint="pass the model with -in, and its class file with a second -in for a state_dict .pth",
        )
    path = others[0]
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pt2":
        return load_pt2(path, trust)
    kind = archive_kind(path)
    if kind == "pt2":
        return load_pt2(path, trust)
    if kind == "torchscript":
        return load_torchscript(path, trust)
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
        if err.reference == "unsafe-model" and trust:
            return load_pickled_module(path)
        raise
    raise RunnerError(
        "missing-file",
        "%s holds a state_dict (%d tensors) but no class file was "
        "given" % (os.path.basename(path), len(obj) if hasattr(obj, "__len__") else 0),
        file=path,
        hint="pass the model's .py class file as a second source (option class=<ClassName> if it defines several)",
    )

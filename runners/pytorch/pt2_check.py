"""What loading a .pt2 archive would make torch run, found before torch.export.load reads it.

torch.export.load (torch 2.13) is not safe on an untrusted file. From the archive it:
- unpickles weights and tensor constants marked `use_pickle` with weights_only=False, opaque
  constants with pickle.loads, torchbind objects with TorchScript's unpickler;
- loads sample inputs (and the legacy layouts' state dict and constants) with weights_only=True,
  then retries with weights_only=False when that fails;
- opens AOTInductor shared libraries (data/aotinductor/);
- evaluates symbolic shape expressions (`expr_str`) with sympy.sympify, which calls eval;
- execs `guards_code` when building the module;
- pastes input, node and attribute names into the Python source of the GraphModule it compiles;
- calls whatever `torch.*` attribute a node's target names (torch.hub.load, torch.os.system, ...).
No maintained library vets a pt2 archive (torch's own `weights_only` for export was proposed and
closed: pytorch/pytorch#176791), so this module reads the archive's JSON and pickles with the
same readers torch uses (PyTorchFileReader for the current layout, zipfile for the legacy one)
and refuses what would run code: pickled parts torch's safe loader does not accept, native code,
expressions and guards that are not plain arithmetic, names that are not names, and node targets
that are not operators. Nothing is unpickled except by torch.load(weights_only=True).
"""

import ast
import io
import json
import re
import zipfile

from runners.common.errors import RunnerError

from . import pickle_scan

# names that torch pastes into generated Python source: identifiers, or dotted attribute paths
IDENT = re.compile(r"^[A-Za-z_]\w*$")
PATH = re.compile(r"^[\w\-]+(\.[\w\-]+)*$")
# any other string in the program JSON is a name, a version, a device or a special float
PLAIN = re.compile(r"^[\w.+\-]*$")
IDENT_KEYS = {"name", "as_name", "forward_arg_names"}
PATH_KEYS = {"parameter_name", "buffer_name", "tensor_constant_name", "custom_obj_name", "fqn", "user_input_name"}
NAMED_MAPS = {"tensor_values", "sym_int_values", "sym_bool_values", "sym_float_values", "custom_obj_values"}
# free text torch keeps as data (metadata, string arguments); only a carriage return is refused
TEXT_KEYS = {
    "as_string",
    "as_strings",
    "stack_trace",
    "nn_module_stack",
    "source_fn_stack",
    "torch_fn",
    "custom",
    "from_node",
    "out_spec",
    "class_fqn",
}
# ops that read or write files although they are operators
FILE_OPS = {"aten::save", "aten::from_file", "debugprims::load_tensor"}
# callables a graph may hold besides operators (pre-dispatch graphs toggle grad and autocast)
NON_OP_TARGETS = {
    "torch._C._set_grad_enabled",
    "torch.amp.autocast_mode._enter_autocast",
    "torch.amp.autocast_mode._exit_autocast",
}
# attribute calls a guard may make on an input, and names it may call
GUARD_ATTRS = {"size", "stride", "storage_offset", "dim", "numel", "shape"}
GUARD_CALLS = {
    "max",
    "min",
    "abs",
    "int",
    "float",
    "round",
    "bool",
    "len",
    "IsNonOverlappingAndDenseIndicator",
    "cast_symbool_to_symint_guardless",
}
GUARD_NAMES = GUARD_CALLS | {"L", "math", "torch", "inf"}
TORCH_SYM = {"sym_max", "sym_min", "sym_float", "sym_int", "sym_sqrt", "sym_ite", "sym_not", "sym_sum"}
_ARITH = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


class Problems(object):
    """What would run code (`items`), and members torch could not read anyway (`broken`)."""

    def __init__(self):
        self.items = []
        self.broken = []

    def add(self, member, what):
        text = "%s: %s" % (member, what)
        if text not in self.items:
            self.items.append(text)

    def corrupt(self, member, what):
        self.broken.append("%s: %s" % (member, what))


# ---- expressions ------------------------------------------------------------------------


def _sympy_callables():
    """Names an expression may call: sympy expression classes (Symbol, Integer, Mul, Max, Eq,
    ...) and torch's sympy functions (FloorDiv, Mod, ...). A class constructs a symbolic value;
    functions such as sympify, lambdify or preview are not classes and are refused."""
    import sympy
    import torch.utils._sympy.functions as torch_sympy

    names = {"sqrt"}
    for module in (sympy, torch_sympy):
        for n in dir(module):
            obj = getattr(module, n, None)
            if not n.startswith("_") and isinstance(obj, type) and issubclass(obj, sympy.Basic):
                names.add(n)
    return names


_CALLABLES = []


def sympy_callables():
    if not _CALLABLES:
        _CALLABLES.append(_sympy_callables())
    return _CALLABLES[0]


def _plain_constant(node, strings):
    if not isinstance(node.value, (int, float, bool, type(None), str)):
        return False
    return not isinstance(node.value, str) or strings(node.value)


def sympy_expr_ok(text):
    """True if sympify(text) only builds a symbolic expression: names, numbers, arithmetic,
    comparisons and calls of sympy classes with such arguments."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    allowed = sympy_callables()
    for node in ast.walk(tree):
        if isinstance(node, _ARITH) or isinstance(node, ast.keyword):
            continue
        if isinstance(node, ast.Constant):
            if not _plain_constant(node, lambda s: "\n" not in s and "\r" not in s):
                return False
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                return False
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in allowed):
                return False
        elif isinstance(node, (ast.Tuple, ast.List)):
            continue
        else:
            return False
    return True


def guard_ok(text):
    """True if a guard is a shape check on the inputs (`L['x'].size()[0] <= 64`), the only kind
    torch writes; torch execs guards as Python source."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, _ARITH) or isinstance(node, (ast.Subscript, ast.Slice, ast.Tuple)):
            continue
        if isinstance(node, ast.Constant):
            if not _plain_constant(node, lambda s: bool(IDENT.match(s))):
                return False
        elif isinstance(node, ast.Name):
            if node.id not in GUARD_NAMES:
                return False
        elif isinstance(node, ast.Attribute):
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if base == "math":
                if node.attr.startswith("_"):
                    return False
            elif base == "torch":
                if node.attr not in TORCH_SYM:
                    return False
            elif node.attr not in GUARD_ATTRS:
                return False
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in GUARD_CALLS:
                continue
            if not isinstance(func, ast.Attribute) or node.keywords:
                return False
        else:
            return False
    return True


# ---- node targets ------------------------------------------------------------------------


def _resolve(target):
    """The object torch's deserializer would take for a node target (its own lookup, repeated)."""
    import math
    import operator

    import torch

    if target.startswith("_operator"):
        obj = operator
    elif target.startswith("torch"):
        obj = torch
    elif target.startswith("math"):
        obj = math
    else:
        return target  # '#namespace:op' extensions come from a registry; other strings fail to load
    for name in target.split(".")[1:]:
        if not hasattr(obj, name):
            return target
        obj = getattr(obj, name)
    return obj


def target_problem(target):
    """Why a node target is not an operator torch may call, or None."""
    import operator

    import torch

    if not isinstance(target, str):
        return "a node target that is not a name"
    if target in NON_OP_TARGETS:
        return None
    obj = _resolve(target)
    if isinstance(obj, str):
        return None
    if isinstance(obj, torch._ops.HigherOrderOperator):
        return None
    if isinstance(obj, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        name = obj._schema.name if isinstance(obj, torch._ops.OpOverload) else obj._qualified_op_name
        if name in FILE_OPS:
            return "the graph calls %s, which reads or writes files" % name
        return None
    from torch._export.serde.serialize import _SYM_OPS

    if obj in _SYM_OPS or obj is operator.getitem:
        return None
    if target.startswith("math") and callable(obj) and type(obj).__name__ == "builtin_function_or_method":
        return None
    return "the graph calls %s, which is not a PyTorch operator" % target


# ---- the program JSON --------------------------------------------------------------------


def _keyword_names(spec):
    """Keyword-argument names in an input treespec `(args, kwargs)`: they become parameters of
    generated code."""
    try:
        tree = json.loads(spec)
        kwargs = tree[1]["children_spec"][1]
        keys = json.loads(kwargs["context"]) if kwargs.get("type") == "builtins.dict" else []
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return []  # not the (args, kwargs) form: torch's own reading fails or finds no keywords
    return keys if isinstance(keys, list) else []


def string_problem(key, value):
    """Why the string `value` found under `key` in a program's JSON would run code, or None."""
    if key in IDENT_KEYS:
        if value and not IDENT.match(value):
            return "the name %r is not a Python name" % value[:80]
    elif key in PATH_KEYS:
        if value and not PATH.match(value):
            return "the attribute path %r is not a dotted name" % value[:80]
    elif key in ("target", "as_operator"):
        return target_problem(value)
    elif key == "expr_str":
        if not sympy_expr_ok(value):
            return "the shape expression %r is not arithmetic (sympy would eval it)" % value[:120]
    elif key == "in_spec":
        bad = [k for k in _keyword_names(value) if not isinstance(k, str) or not IDENT.match(k)]
        if bad:
            return "a keyword input named %r, which is not a Python name" % str(bad[0])[:80]
    elif key in TEXT_KEYS:
        if "\r" in value:
            return "a %s holding a carriage return" % key
    elif not PLAIN.match(value):
        return "the %s %r is not a name" % (key, value[:80])
    return None


def key_problem(parent, key):
    """Why a dict key under `parent` would run code, or None."""
    if parent in NAMED_MAPS:
        return string_problem("name", key)
    if parent == "range_constraints":  # symbolic expressions, only looked up by their text
        return string_problem("stack_trace", key)
    if not PLAIN.match(key):
        return "the key %r is not a name" % key[:80]
    return None


def check_program(program, member, problems):
    """Walk an exported program's JSON (models/<name>.json)."""

    def walk(node, key):
        if isinstance(node, dict):
            for k, v in node.items():
                why = key_problem(key, k)
                if why:
                    problems.add(member, why)
                if k == "guards_code" and isinstance(v, list):
                    for g in v:
                        if not isinstance(g, str) or not guard_ok(g):
                            problems.add(member, "the guard %r is not a shape check (torch execs it)" % str(g)[:120])
                else:
                    walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            why = string_problem(key, node)
            if why:
                problems.add(member, why)

    walk(program, "")


# ---- pickled members -----------------------------------------------------------------------


def check_safe_pickle(member, data, problems):
    """A member torch loads with weights_only=True first and weights_only=False when that fails:
    it must load safely here, so torch never retries."""
    import torch

    if not data:
        return
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        names = pickle_unsafe(data)
        why = " (it imports %s)" % ", ".join(names[:5]) if names else " (%s)" % type(exc).__name__
        problems.add(member, "pickled data that torch's safe loader refuses%s" % why)


def pickle_unsafe(data):
    """Unsafe globals named by a torch.save blob (zip or legacy)."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                pkl = [n for n in z.namelist() if n.endswith("data.pkl")]
                data = z.read(pkl[0]) if pkl else b""
        except (zipfile.BadZipFile, OSError, KeyError, EOFError):
            return []
    return pickle_scan.unsafe(pickle_scan.scan_stream(data), pickle_scan.torch_allowed_globals())


def _payload_config(reader, name, problems):
    try:
        config = json.loads(reader.get_record(name))
        entries = config.get("config") or {}
        return entries if isinstance(entries, dict) else {}
    except Exception:
        problems.corrupt(name, "an unreadable payload config")
        return {}


def check_current_layout(reader, problems):
    """The archive as torch.export.pt2_archive reads it (PyTorchFileReader records)."""
    from torch.export.pt2_archive import constants as c

    records = set(reader.get_all_records())
    for name in sorted(records):
        if name.startswith(c.AOTINDUCTOR_DIR):
            problems.add(name, "compiled native code (AOTInductor) that loading would open")
            break
    prefix, suffix = c.MODELS_FILENAME_FORMAT.split("{}")
    models = [n[len(prefix) : -len(suffix)] for n in records if n.startswith(prefix) and n.endswith(suffix)]
    for model in models:
        member = c.MODELS_FILENAME_FORMAT.format(model)
        try:
            program = json.loads(reader.get_record(member))
        except Exception:
            problems.corrupt(member, "not a JSON document")
            continue
        check_program(program, member, problems)
        for legacy in ("%s%s.pt" % (c.WEIGHTS_DIR, model), "%s%s.pt" % (c.CONSTANTS_DIR, model)):
            if legacy in records:
                check_safe_pickle(legacy, reader.get_record(legacy), problems)
        weights = c.WEIGHTS_CONFIG_FILENAME_FORMAT.format(model)
        if weights in records:
            for fqn, meta in _payload_config(reader, weights, problems).items():
                _check_payload(c.WEIGHTS_DIR, fqn, meta, c, problems)
        constants = c.CONSTANTS_CONFIG_FILENAME_FORMAT.format(model)
        if constants in records:
            for fqn, meta in _payload_config(reader, constants, problems).items():
                _check_payload(c.CONSTANTS_DIR, fqn, meta, c, problems)
        sample = c.SAMPLE_INPUTS_FILENAME_FORMAT.format(model)
        if sample in records:
            check_safe_pickle(sample, reader.get_record(sample), problems)


def _check_payload(folder, fqn, meta, c, problems):
    if not isinstance(meta, dict):
        problems.add(folder, "a payload entry that is not an object")
        return
    path = str(meta.get("path_name", ""))
    member = folder + path
    if not PATH.match(str(fqn)):
        problems.add(member, "the attribute path %r is not a dotted name" % str(fqn)[:80])
    if path.startswith(c.OPAQUE_OBJ_FILENAME_PREFIX):
        problems.add(member, "a pickled Python object for %s (torch reads it with pickle.loads)" % fqn)
    elif path.startswith(c.CUSTOM_OBJ_FILENAME_PREFIX):
        problems.add(member, "a pickled TorchScript object for %s" % fqn)
    elif meta.get("use_pickle"):
        problems.add(member, "%s stored as a pickle (torch unpickles it with weights_only=False)" % fqn)


LEGACY_PROGRAM = "serialized_exported_program.json"
LEGACY_PICKLES = (
    "serialized_state_dict.pt",
    "serialized_state_dict.json",
    "serialized_constants.pt",
    "serialized_constants.json",
    "serialized_example_inputs.pt",
)


def check_legacy_layout(zf, problems):
    """The archive as torch.export.load's fallback for files from torch < 2.7 reads it (zipfile)."""
    seen = set()
    for info in zf.infolist():
        if info.filename in seen:
            problems.add(info.filename, "a second member with this name")
        seen.add(info.filename)
        if info.filename == LEGACY_PROGRAM:
            try:
                program = json.loads(zf.read(info))
            except ValueError:
                problems.corrupt(info.filename, "not a JSON document")
                continue
            check_program(program, info.filename, problems)
        elif info.filename in LEGACY_PICKLES:
            check_safe_pickle(info.filename, zf.read(info), problems)


def check(f, path):
    """Raise unsafe-model naming every member of the open .pt2 file `f` that would run code."""
    import torch

    problems = Problems()
    readable = False
    f.seek(0)
    try:
        reader = torch._C.PyTorchFileReader(f)
    except Exception:
        reader = None
    if reader is not None:
        readable = True
        check_current_layout(reader, problems)
    f.seek(0)
    try:
        with zipfile.ZipFile(f) as zf:
            readable = True
            check_legacy_layout(zf, problems)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        pass
    f.seek(0)
    if not readable or (problems.broken and not problems.items):
        raise RunnerError(
            "corrupt-model",
            "cannot read this .pt2: %s" % ("; ".join(problems.broken[:3]) or "no zip directory found"),
            file=path,
            hint="the file is truncated or not saved by torch.export.save; export it again",
        )
    if problems.items:
        shown = problems.items[:8]
        more = len(problems.items) - len(shown)
        raise RunnerError(
            "unsafe-model",
            "loading this .pt2 would run code from the file: %s%s"
            % ("; ".join(shown), " and %d more" % more if more > 0 else ""),
            file=path,
            nodes=problems.items,
            hint="nothing was executed; save the model again with torch.export.save from a plain model, "
            "or, if you trust this file, run again with --trust-model",
        )

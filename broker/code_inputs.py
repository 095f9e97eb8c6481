"""The inputs that PyTorch code mmbroker generated declares: `INPUTS = [(name, shape, dtype)]` at
the top of the module, -1 where a dimension is free.

A state_dict .pth with its generated class file cannot be parsed without input shapes (torch.onnx
traces it), yet the file says them: `mmbroker infer model.pth` and a conversion from it take them
from there when --inputShape is not given. The list is read as a Python literal from the parsed
source (ast.literal_eval): the broker never runs a model's code.
"""

from __future__ import annotations

import ast
from pathlib import Path

Declared = list[tuple[str, list[int | None], str]]  # (name, shape with None where free, dtype)

_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}


def class_file(sources: list[str]) -> Path | None:
    """The .py class file of a PyTorch state_dict: given, or beside the .pth with its stem (as the
    PyTorch runner finds it)."""
    py = [Path(s) for s in sources if s.endswith(".py")]
    others = [Path(s) for s in sources if not s.endswith(".py")]
    if len(others) != 1 or len(py) > 1 or others[0].suffix.lower() != ".pth":
        return None
    if py:
        return py[0]
    beside = others[0].with_suffix(".py")
    return beside if beside.is_file() else None


def declared_inputs(sources: list[str]) -> Declared | None:
    """INPUTS of the generated class file of `sources`, or None (no such file, no such list, or a
    list of another form)."""
    path = class_file(sources)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["INPUTS"]:
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
            return _checked(value)
    return None


def _checked(value: object) -> Declared | None:
    if not isinstance(value, (list, tuple)) or not value:
        return None
    found: Declared = []
    for item in value:
        if not (isinstance(item, (list, tuple)) and len(item) == 3):
            return None
        name, shape, dtype = item
        if not (isinstance(name, str) and name and isinstance(shape, (list, tuple)) and dtype in _DTYPES):
            return None
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 and d != 0 for d in shape):
            return None
        found.append((name, [d if d > 0 else None for d in shape], str(dtype)))
    return found

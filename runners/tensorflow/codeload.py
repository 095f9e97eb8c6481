"""Build the Keras model that emitted code (`<name>.py` + `<name>.npz`) describes."""

import os

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import exec_file
from runners.common.tensors import load_npz


def build_from_code(py_path, npz_paths):
    npz = list(npz_paths) or [os.path.splitext(py_path)[0] + ".npz"]
    if not os.path.isfile(npz[0]):
        raise RunnerError(
            "missing-file", "the weights file is missing", file=npz[0], hint="keep the .npz beside the generated .py"
        )
    try:
        module = exec_file("mmbroker_keras_%d" % abs(hash(py_path)), py_path)
    except Exception as exc:
        raise RunnerError("bad-code", "the generated code does not import: %s" % exc, file=py_path)
    if not hasattr(module, "build_model"):
        raise RunnerError("bad-code", "the code defines no build_model(weights)", file=py_path)
    weights = load_npz(npz[0])
    try:
        return module.build_model({k: np.asarray(v) for k, v in weights.items()})
    except Exception as exc:
        raise RunnerError("bad-code", "build_model failed: %s: %s" % (type(exc).__name__, str(exc)[:500]), file=py_path)


def ir_layers(py_path):
    """The generated code's IR_LAYERS (layer name -> (IR value, storage axis order)), read without
    running the code; {} when the file has none."""
    import ast

    with open(py_path) as f:
        tree = ast.parse(f.read(), py_path)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "IR_LAYERS" for t in stmt.targets):
            return {k: (v[0], tuple(v[1])) for k, v in ast.literal_eval(stmt.value).items()}
    return {}


def sidecar_path(model_path):
    """Where Save keeps the IR map of a saved Keras model: `<model>.irmap.json`."""
    return model_path.rstrip("/") + ".irmap.json"


def write_sidecar(model_path, layers):
    import json

    from runners.common.tensors import atomic_write

    data = {"ir_layers": {k: [v, list(lay)] for k, (v, lay) in layers.items()}}
    path = sidecar_path(model_path)
    atomic_write(path, lambda tmp: open(tmp, "w").write(json.dumps(data, indent=1)))
    return path


def read_sidecar(model_path):
    import json

    path = sidecar_path(model_path)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    return {k: (v[0], tuple(v[1])) for k, v in data.get("ir_layers", {}).items()}

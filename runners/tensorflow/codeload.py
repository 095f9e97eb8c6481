"""Build the Keras model that emitted code (`<name>.py` + `<name>.npz`) describes."""

import importlib.util
import os

import numpy as np

from runners.common.errors import RunnerError
from runners.common.tensors import load_npz


def build_from_code(py_path, npz_paths):
    npz = list(npz_paths) or [os.path.splitext(py_path)[0] + ".npz"]
    if not os.path.isfile(npz[0]):
        raise RunnerError(
            "missing-file", "the weights file is missing", file=npz[0], hint="keep the .npz beside the generated .py"
        )
    spec = importlib.util.spec_from_file_location("mmbroker_keras_%d" % abs(hash(py_path)), py_path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise RunnerError("bad-code", "the generated code does not import: %s" % exc, file=py_path)
    if not hasattr(module, "build_model"):
        raise RunnerError("bad-code", "the code defines no build_model(weights)", file=py_path)
    weights = load_npz(npz[0])
    try:
        return module.build_model({k: np.asarray(v) for k, v in weights.items()})
    except Exception as exc:
        raise RunnerError("bad-code", "build_model failed: %s: %s" % (type(exc).__name__, str(exc)[:500]), file=py_path)

"""Emitted CNTK code + .npz weights -> .model, by running the code's `build` and saving its Function."""

import importlib.util

import numpy as np

from runners.common.errors import RunnerError
from runners.common.tensors import atomic_write, load_npz


def load_code(path):
    spec = importlib.util.spec_from_file_location("mmbroker_emitted_%d" % abs(hash(path)), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise RunnerError("bad-class-file", "the CNTK code does not run: %s" % exc, file=path)
    if not callable(getattr(module, "build", None)):
        raise RunnerError("bad-class-file", "expected a function build(weights) in the code", file=path)
    return module


def save(code_path, weights_path, output):
    module = load_code(code_path)
    weights = load_npz(weights_path)
    try:
        model = module.build(dict((k, np.asarray(v)) for k, v in weights.items()))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise RunnerError(
            "bad-class-file",
            "build(weights) failed: %s: %s" % (type(exc).__name__, text[0][:300] if text else ""),
            file=code_path,
            hint="the weights must be the .npz emitted with this code",
        )
    path = output if output.endswith((".model", ".dnn")) else output + ".model"
    return atomic_write(path, lambda tmp: model.save(tmp))

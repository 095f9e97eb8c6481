"""Emitted CNTK code + .npz weights -> .model, by running the code's `build` and saving its Function."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import load_code
from runners.common.tensors import atomic_write, load_npz


def save(code_path, weights_path, output):
    module = load_code(code_path, "build", "CNTK code")
    weights = load_npz(weights_path)
    try:
        model = module.build(dict((k, np.asarray(v)) for k, v in weights.items()))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise RunnerError(
            "bad-code",
            "build(weights) failed: %s: %s" % (type(exc).__name__, text[0][:300] if text else ""),
            file=code_path,
            hint="give the .npz emitted with this code; if it is, CNTK rejects the generated graph: "
            "convert to another framework, or report the model",
        )
    path = output if output.endswith((".model", ".dnn")) else output + ".model"
    return atomic_write(path, lambda tmp: model.save(tmp))

"""Emitted Gluon code + parameters -> -symbol.json + -0000.params, loadable by mx.sym.load,
gluon.SymbolBlock.imports and mx.mod.Module (arg:/aux: parameter names).

Two graph attributes of the -symbol.json (MXNet ignores them) tell this runner's Infer what MXNet
1.x symbols cannot say: `mmbroker_unused_inputs`, IR inputs whose values the model does not read
(an MXNet symbol has no variable for them), and `mmbroker_zero_dim_outputs`, outputs the IR
defines as zero-dimensional (MXNet holds them as shape (1,))."""

import json
import os

from runners.common.errors import RunnerError
from runners.common.loading import exec_file
from runners.common.tensors import atomic_write


def prefix_of(output):
    """The checkpoint prefix for an output path: x-symbol.json, x.json, x-0000.params or x."""
    out = os.path.abspath(output)
    for suffix in ("-symbol.json", "-0000.params", ".json", ".params"):
        if out.endswith(suffix):
            return out[: -len(suffix)]
    return out


def load_code(path):
    try:
        module = exec_file("mmbroker_emitted_%d" % abs(hash(path)), path)
    except Exception as exc:
        raise RunnerError("bad-code", "the Gluon code does not run: %s" % exc, file=path)
    blocks = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and v.__module__ == module.__name__ and hasattr(v, "hybrid_forward")
    ]
    if len(blocks) != 1 or not hasattr(module, "INPUTS"):
        raise RunnerError("bad-code", "expected one HybridBlock class and an INPUTS table in the code", file=path)
    return module, blocks[0]


def to_symbol(code_path, params_path):
    """(symbol, {"arg:name"/"aux:name": NDArray}) of an emitted block, inputs named as in the IR."""
    import mxnet as mx

    module, cls = load_code(code_path)
    net = cls()
    try:
        net.load_parameters(params_path, ctx=mx.cpu())
    except Exception as exc:
        raise RunnerError("weights-mismatch", "the parameters do not fit the code: %s" % exc, file=params_path)
    inputs = [mx.sym.var(name) for name, _, _ in module.INPUTS]
    values = {name: p.data() for name, p in net._reg_params.items()}
    # parameters carry their shapes (`__shape__` in the JSON): shape inference from the input
    # alone cannot size a parameter that only meets the data in a broadcast (a folded BatchNorm)
    params = {name: mx.sym.var(name, shape=values[name].shape) for name in net._reg_params}
    out = net.hybrid_forward(mx.sym, *inputs, **params)
    sym = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    arguments = set(sym.list_arguments())
    notes = {
        "mmbroker_unused_inputs": [name for name, _, _ in module.INPUTS if name not in arguments],
        "mmbroker_zero_dim_outputs": list(getattr(module, "ZERO_DIM_OUTPUTS", [])),
    }
    saved = {}
    for name in sym.list_arguments():
        if name in values:
            saved["arg:" + name] = values[name]
    for name in sym.list_auxiliary_states():
        saved["aux:" + name] = values[name]
    return sym, saved, notes


def save(code_path, params_path, output):
    import mxnet as mx

    prefix = prefix_of(output)
    sym, saved, notes = to_symbol(code_path, params_path)
    symbol_path, weights_path = prefix + "-symbol.json", prefix + "-0000.params"
    graph = json.loads(sym.tojson())
    for key, names in notes.items():
        if names:
            graph.setdefault("attrs", {})[key] = ["str", json.dumps(names)]
    text = json.dumps(graph, indent=2)

    def write_symbol(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(weights_path, lambda tmp: mx.nd.save(tmp, saved))
    try:
        atomic_write(symbol_path, write_symbol)
    except BaseException:
        os.unlink(weights_path)
        raise
    return symbol_path, weights_path

"""Reading MXNet models: -symbol.json + .params, with checks that name the file and what to do.

MXNet files carry no input shape, so the shapes come from --inputShape; MMdnn's style without the
batch dimension (3,224,224) is accepted beside the full shape (1,3,224,224).
"""

import json
import os

from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file

# Weight and statistic names a symbol argument has when it is a parameter, not a model input.
PARAM_SUFFIXES = (
    "_weight",
    "_bias",
    "_gamma",
    "_beta",
    "_moving_mean",
    "_moving_var",
    "_running_mean",
    "_running_var",
    "_alpha",
)
LABEL_SUFFIX = "_label"


class MXNetModel(object):
    """A symbol, its JSON graph and its parameters (names without arg:/aux: prefixes)."""

    def __init__(self, symbol, graph, params, symbol_path, params_path):
        self.symbol = symbol
        self.graph = graph  # the symbol's JSON as a dict: nodes, arg_nodes, heads
        self.params = params  # {name: mx.nd.NDArray}
        self.symbol_path = symbol_path
        self.params_path = params_path

    @property
    def path(self):
        return self.symbol_path


def split_sources(sources):
    """(symbol .json path, .params path) among the files given."""
    symbols = [s for s in sources if s.endswith(".json")]
    params = [s for s in sources if s.endswith(".params")]
    if len(symbols) != 1:
        raise RunnerError(
            "missing-file",
            "MXNet needs one -symbol.json file, given: %s" % ", ".join(os.path.basename(s) for s in sources),
            hint="pass the symbol with -in model-symbol.json and the weights with -iw model-0000.params",
        )
    if len(params) != 1:
        symbol = os.path.basename(symbols[0])
        stem = symbol[: -len("-symbol.json")] if symbol.endswith("-symbol.json") else os.path.splitext(symbol)[0]
        weights = "%s-0000.params" % stem
        raise RunnerError(
            "missing-file",
            "MXNet needs one .params file with %s, given %d" % (symbol, len(params)),
            file=symbols[0],
            hint="give the weights: -iw %s to convert and toir, %s,%s to infer and compare"
            % (weights, symbol, weights),
        )
    return symbols[0], params[0]


def load(sources):
    import mxnet as mx

    symbol_path, params_path = split_sources([os.path.abspath(s) for s in sources])
    require_file(symbol_path, "symbol file")
    require_file(params_path, "params file")
    try:
        with open(symbol_path) as f:
            text = f.read()
        graph = json.loads(text)
        if not isinstance(graph, dict) or "nodes" not in graph or "heads" not in graph:
            raise ValueError("no 'nodes' and 'heads' in the JSON")
    except Exception as exc:
        raise corrupt(symbol_path, ValueError(_first(exc)), "MXNet symbol file")
    try:
        symbol = mx.sym.load_json(text)
    except Exception as exc:  # a symbol file that reads, describing a graph MXNet refuses
        raise RunnerError(
            "invalid-model",
            "MXNet refuses the symbol: %s" % _first(exc),
            file=symbol_path,
            hint="fix the layer the message names, or export the symbol again",
        )
    try:
        raw = mx.nd.load(params_path)
    except Exception as exc:
        raise corrupt(params_path, ValueError(_first(exc)), "MXNet .params file")
    if isinstance(raw, list) and not raw:
        raw = {}  # a model without parameters is saved as an empty list
    if not isinstance(raw, dict):
        raise RunnerError(
            "unsupported-format",
            "the .params file holds an unnamed list of arrays, not named parameters",
            file=params_path,
            hint="save the parameters with HybridBlock.export() or Module.save_checkpoint()",
        )
    params = {}
    for key, value in raw.items():
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        params[name] = value
    return MXNetModel(symbol, graph, params, symbol_path, params_path)


def data_inputs(model):
    """Symbol arguments that are model inputs: not parameters, not loss labels."""
    aux = set(model.symbol.list_auxiliary_states())
    return [
        n
        for n in model.symbol.list_arguments()
        if n not in model.params and n not in aux and not n.endswith(LABEL_SUFFIX)
    ]


def check_params(model, input_names):
    """Every parameter the symbol needs is in the .params file: else list the missing and the unused."""
    sym = model.symbol
    needed = [n for n in sym.list_arguments() if n not in input_names and not n.endswith(LABEL_SUFFIX)]
    needed += sym.list_auxiliary_states()
    missing = [n for n in needed if n not in model.params]
    if not missing:
        return
    unused = sorted(set(model.params) - set(sym.list_arguments()) - set(sym.list_auxiliary_states()))
    text = "the .params file does not match the symbol: %d parameter(s) missing: %s" % (
        len(missing),
        ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else ""),
    )
    if unused:
        text += "; %d in the file but not in the symbol: %s" % (
            len(unused),
            ", ".join(unused[:20]) + (" ..." if len(unused) > 20 else ""),
        )
    raise RunnerError(
        "weights-mismatch",
        text,
        file=model.params_path,
        node=missing[0],
        hint="give the .params saved with this symbol (HybridBlock.export / Module.save_checkpoint "
        "write both); model inputs are %s" % (", ".join(input_names) or "none"),
    )


def guess_inputs(model):
    """Inputs: symbol arguments that are neither parameters nor labels nor parameter-like names."""
    names = data_inputs(model)
    return [n for n in names if not n.endswith(PARAM_SUFFIXES)] or names


def resolve_shapes(model, specs, input_names):
    """{input name: full shape} from --inputShape, with the batch added where it was left out."""
    if not specs:
        raise RunnerError(
            "missing-input-shape",
            "MXNet files carry no input shape; the model takes input%s %s"
            % ("s" if len(input_names) != 1 else "", ", ".join(input_names)),
            file=model.symbol_path,
            hint="give it with --inputShape, e.g. --inputShape 3,224,224 (batch left free) or 1,3,224,224"
            + ("; one per input, as name:shape" if len(input_names) > 1 else ""),
        )
    given = {}
    for i, spec in enumerate(specs):
        name = spec.name or (input_names[i] if i < len(input_names) else "")
        if name not in input_names:
            raise RunnerError(
                "unknown-node",
                "the model has no input '%s' (inputs: %s)" % (name or "#%d" % i, ", ".join(input_names)),
                file=model.symbol_path,
                hint="name one of the model's inputs, e.g. --inputShape %s:1,3,224,224" % input_names[0]
                if input_names
                else "",
            )
        given[name] = [int(d) for d in spec.shape]
    missing = [n for n in input_names if n not in given]
    if missing:
        raise RunnerError(
            "missing-input-shape",
            "no shape given for input%s %s" % ("s" if len(missing) > 1 else "", ", ".join(missing)),
            file=model.symbol_path,
            hint="give one --inputShape per input, as name:shape",
        )
    # MMdnn's style leaves the batch out: try with batch 1 first where the shape looks like CHW
    variants = []
    with_batch = {n: [1] + s for n, s in given.items()}
    if all(len(s) <= 3 for s in given.values()):
        variants = [with_batch, given]
    else:
        variants = [given, with_batch]
    last = None
    for shapes in variants:
        try:
            arg_shapes, out_shapes, aux_shapes = model.symbol.infer_shape(**{n: tuple(s) for n, s in shapes.items()})
        except Exception as exc:
            last = exc
            continue
        if arg_shapes is not None and out_shapes and all(s for s in out_shapes):
            return shapes
    raise RunnerError(
        "bad-shape",
        "MXNet cannot infer the model's shapes from input shape%s %s: %s"
        % ("s" if len(given) > 1 else "", ", ".join("%s=%s" % (n, tuple(s)) for n, s in given.items()), _first(last)),
        file=model.symbol_path,
        hint="give the input shape the model was made for, e.g. --inputShape 3,224,224",
    )


def check_param_shapes(model, shapes):
    """Parameters whose shape differs from what the symbol infers: list them all."""
    sym = model.symbol
    arg_shapes, _, aux_shapes = sym.infer_shape(**{n: tuple(s) for n, s in shapes.items()})
    expected = dict(zip(sym.list_arguments(), arg_shapes))
    expected.update(zip(sym.list_auxiliary_states(), aux_shapes))
    bad = []
    for name, value in model.params.items():
        want = expected.get(name)
        if want is not None and tuple(want) != tuple(value.shape):
            bad.append("%s: file %s, symbol %s" % (name, tuple(value.shape), tuple(want)))
    if bad:
        raise RunnerError(
            "weights-mismatch",
            "the .params file does not match the symbol: %d parameter shape(s) differ: %s"
            % (len(bad), "; ".join(bad[:20]) + (" ..." if len(bad) > 20 else "")),
            file=model.params_path,
            node=bad[0].split(":")[0],
            hint="give the .params saved with this symbol, or the input shape it was made for",
        )
    return expected


def _first(exc):
    if exc is None:
        return "unknown error"
    text = str(exc).strip()
    for line in text.splitlines():
        if ("Error" in line or "Check failed" in line) and "Traceback" not in line:
            return line.strip()[:300]
    return text.splitlines()[0][:300] if text else type(exc).__name__

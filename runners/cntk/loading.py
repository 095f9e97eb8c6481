"""Loading CNTK models (.model v2, legacy v1 .dnn) with errors that name the file, and the names
every value of a loaded model gets in the IR (shared by Parse and Infer)."""

import warnings

from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file

EXTENSIONS = (".model", ".dnn", ".cmf", ".cntk")


def import_cntk():
    """cntk, without its warnings about the Linux distribution and missing GPU libraries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import cntk
    return cntk


def model_file(sources):
    files = [s for s in sources if s.lower().endswith(EXTENSIONS)] or list(sources[:1])
    if len(files) != 1:
        raise RunnerError(
            "missing-file",
            "CNTK needs one model file (.model or .dnn), given: %s" % ", ".join(sources),
            hint="pass the model with -in model.model",
        )
    return files[0]


def load(path):
    C = import_cntk()
    require_file(path)
    try:
        return C.load_model(path)
    except Exception as exc:
        raise corrupt(path, exc, "CNTK model")


def top_functions(model):
    """Every function reachable from the model's outputs without entering blocks, outputs first."""
    seen, order, stack = set(), [], [o.owner for o in model.outputs if o.is_output]
    while stack:
        fn = stack.pop()
        if fn.uid in seen:
            continue
        seen.add(fn.uid)
        order.append(fn)
        stack.extend(i.owner for i in fn.inputs if i.is_output)
    return order


def output_names(functions):
    """{output uid: IR value name}: a function's own name when it is unique and it has one output,
    else the output's uid (so emitted code, which names its functions, keeps the IR's names)."""
    counts = {}
    for fn in functions:
        if fn.name:
            counts[fn.name] = counts.get(fn.name, 0) + 1
    names = {}
    for fn in functions:
        outs = list(fn.outputs)
        for out in outs:
            if fn.name and counts[fn.name] == 1 and len(outs) == 1:
                names[out.uid] = fn.name
            else:
                names[out.uid] = out.uid
    return names


def argument_name(var):
    return var.name or var.uid


def check_arguments(model, path, lengths=None):
    """Inputs with a sequence axis (recurrent models) need their sequence length (`lengths`: input
    name -> length): the IR holds the sequence as a static axis after the batch."""
    bad = [a for a in model.arguments if len(a.dynamic_axes) > 1 and not (lengths or {}).get(argument_name(a))]
    if bad:
        raise RunnerError(
            "missing-input-shape",
            "input%s %s %s a sequence axis of no fixed length"
            % ("s" if len(bad) > 1 else "", ", ".join("'%s'" % argument_name(a) for a in bad),
               "have" if len(bad) > 1 else "has"),
            file=path,
            hint="give the batch and sequence length with the shape: --inputShape %s:1,LENGTH,%s"
            % (argument_name(bad[0]), ",".join(str(d) for d in bad[0].shape)),
        )  # fmt: skip

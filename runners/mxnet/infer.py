"""Run -symbol.json + .params models with MXNet; intermediates keyed by IR value names."""

import json

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import named_inputs
from runners.common.rpc import pb
from runners.common.tensors import to_proto

from . import loading


def ir_name(output_name):
    """MXNet's output name -> the IR value name mxnet.onnx gives it (conv0_output -> conv0)."""
    if output_name.endswith("_output"):
        return output_name[: -len("_output")]
    head, _, index = output_name.rpartition("_output")
    if head and index.isdigit():
        return head + index
    return output_name


def run(request):
    import mxnet as mx

    model = loading.load(list(request.model))
    input_names = loading.guess_inputs(model)
    loading.check_params(model, input_names)
    feeds = named_inputs(request.inputs, input_names)
    for name in _noted(model, "mmbroker_unused_inputs"):
        feeds.pop(name, None)  # an IR input the model does not read
    unknown = [n for n in feeds if n not in input_names]
    missing = [n for n in input_names if n not in feeds]
    if unknown or missing:
        raise RunnerError(
            "bad-input",
            "the model takes input%s %s; given %s"
            % ("s" if len(input_names) != 1 else "", ", ".join(input_names), ", ".join(sorted(feeds)) or "nothing"),
            file=model.symbol_path,
            hint="give one tensor per model input",
        )
    # MXNet 1.x arrays have at least one axis: a zero-dimensional input is fed as shape (1,)
    feeds = {n: (a.reshape(1) if a.ndim == 0 else a) for n, a in feeds.items()}
    shapes = {n: list(a.shape) for n, a in feeds.items()}
    sym = model.symbol
    outputs = sym.list_outputs()
    if request.intermediates:
        internals = sym.get_internals()
        extra = [n for n in internals.list_outputs() if n not in outputs and _is_op_output(n, sym)]
        sym = mx.sym.Group([sym] + [internals[n] for n in extra])
    else:
        extra = []
    try:
        arg_shapes, _, aux_shapes = sym.infer_shape(**{n: tuple(s) for n, s in shapes.items()})
    except Exception as exc:
        raise RunnerError(
            "bad-input",
            "MXNet cannot run the model on input shape%s %s: %s"
            % ("s" if len(shapes) > 1 else "", shapes, loading._first(exc)),
            file=model.symbol_path,
            hint="give inputs of the shape the model was made for",
        )
    loading.check_param_shapes(model, shapes)
    args = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name in feeds:
            args[name] = mx.nd.array(feeds[name], dtype=feeds[name].dtype)
        elif name in model.params:
            args[name] = model.params[name]
        else:  # loss labels: unused at inference
            args[name] = mx.nd.zeros(shape)
    aux = {n: model.params[n] for n in sym.list_auxiliary_states()}
    try:
        executor = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
        values = [v.asnumpy() for v in executor.forward(is_train=False)]
    except Exception as exc:
        raise RunnerError("infer-failed", "MXNet failed: %s" % loading._first(exc), file=model.symbol_path)
    ws = request.workspace or None
    resp = pb.InferResponse(engine="mxnet %s" % mx.__version__)
    zero_dim = set(_noted(model, "mmbroker_zero_dim_outputs"))
    for name, value in zip(outputs, values):
        value = np.asarray(value)
        if ir_name(name) in zero_dim and value.size == 1:
            value = value.reshape(())
        resp.outputs.append(to_proto(ir_name(name), value, ws))
    for name, value in zip(extra, values[len(outputs) :]):
        resp.intermediates.append(to_proto(ir_name(name), np.asarray(value), ws))
    return resp


def _is_op_output(name, sym):
    """Internals include the variables (inputs and parameters): keep operator outputs only."""
    return "_output" in name


def _noted(model, key):
    """A list mmbroker's save wrote into the -symbol.json's graph attributes (see save.py)."""
    value = model.graph.get("attrs", {}).get(key)
    if not isinstance(value, list) or len(value) != 2:
        return []
    try:
        names = json.loads(value[1])
    except (TypeError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

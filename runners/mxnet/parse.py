"""MXNet symbol + params -> IR, through mxnet.onnx (pinned at opset 13), with the semantics that
exporter gets wrong made explicit before export or repaired after it.

What mxnet.onnx 1.9.1 gets wrong, each checked against real MXNet outputs in the tests:
- it reads missing attributes with its own defaults, not MXNet's: FullyConnected `flatten`
  (MXNet: True), Deconvolution `no_bias` (MXNet: True), LRN `knorm` (MXNet: 2);
- BatchNorm `fix_gamma` (MXNet's default True: gamma is taken as 1) is ignored;
- SoftmaxOutput normalises over the wrong axes (MXNet: axis 1 with `multi_output`, else the last
  axis, whatever the rank);
- Reshape special codes -2, -3, -4 and `reverse` are refused: shapes are static here, so every
  Reshape gets its inferred output shape;
- LeakyReLU `rrelu` has no converter: at inference it is leaky with the mean slope;
- PReLU slopes of shape (C,) do not broadcast over NCHW in ONNX: they become (C, 1, 1);
- its final check runs against the newest ONNX opset, not the one it writes;
- SwapAxis becomes a Transpose of 8 axes between reshapes (Gluon's NTC recurrent layers swap
  the batch and time axes): it is given as a transpose of the tensor's own rank;
- its fused RNN converter reads multi-layer weights wrongly and refuses bidirectional GRUs:
  runners/mxnet/rnn_export.py converts the RNN operator instead.
"""

import contextlib
import copy
import json
import os
import sys

import numpy as np

from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.onnx_models import to_ir
from runners.common.rpc import pb

from . import loading, rnn_export

EXPORT_OPSET = 13

# MXNet defaults that the exporter reads with a different default when the attribute is absent.
EXPLICIT_DEFAULTS = {
    "FullyConnected": {"flatten": "True", "no_bias": "False"},
    "Deconvolution": {"no_bias": "True"},
    "Convolution": {"no_bias": "False"},
    "LRN": {"knorm": "2.0", "alpha": "0.0001", "beta": "0.75"},
    "BatchNorm": {"eps": "0.001", "fix_gamma": "True"},
    "LeakyReLU": {"act_type": "leaky", "slope": "0.25"},
}
# Ops this module rewrites into others before export.
REWRITTEN = {"SoftmaxOutput", "Reshape", "LeakyReLU", "BatchNorm", "SwapAxis"}
# Training-only outputs that are the identity at inference.
LOSS_IDENTITY = {"LinearRegressionOutput", "MAERegressionOutput"}


def _true(value):
    return str(value).strip().lower() in ("true", "1")


def exporter_ops():
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph

    ops = set()
    for version, table in MXNetGraph.registry_.items():
        if version <= EXPORT_OPSET:
            ops.update(table)
    return ops


def check_ops(model):
    supported = exporter_ops() | LOSS_IDENTITY | {"null"}
    missing = []
    for node in model.graph["nodes"]:
        op = node["op"]
        if op not in supported:
            missing.append((node["name"], op))
        elif op == "LeakyReLU" and node.get("attrs", {}).get("act_type", "leaky") not in (
            "leaky",
            "prelu",
            "elu",
            "selu",
            "gelu",
            "rrelu",
        ):
            missing.append((node["name"], "LeakyReLU(act_type=%s)" % node["attrs"]["act_type"]))
    if missing:
        err = UnsupportedOps("parse", "mxnet", missing)
        err.file = model.symbol_path
        err.hint = "these MXNet ops have no ONNX mapping in mxnet.onnx; replace them in the model"
        raise err


def _internal_shapes(symbol, shapes):
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**{n: tuple(s) for n, s in shapes.items()})
    return dict(zip(internals.list_outputs(), out_shapes))


def _output_key(node, index=0):
    return "%s_output%s" % (node["name"], "" if index == 0 else index)


def preprocess(model, shapes):
    """A copy of the JSON graph and params with MXNet's semantics made explicit for the exporter."""
    import mxnet as mx

    graph = copy.deepcopy(model.graph)
    params = dict(model.params)
    nodes = graph["nodes"]
    value_shapes = _internal_shapes(model.symbol, shapes)
    for node in nodes:
        op = node["op"]
        attrs = node.setdefault("attrs", {})
        for key, value in EXPLICIT_DEFAULTS.get(op, {}).items():
            attrs.setdefault(key, value)
        if op == "BatchNorm":
            if _true(attrs["fix_gamma"]):
                gamma = nodes[node["inputs"][1][0]]["name"]
                if gamma in params:
                    params[gamma] = mx.nd.ones_like(params[gamma])
                attrs["fix_gamma"] = "False"
        elif op == "LeakyReLU" and attrs["act_type"] == "rrelu":
            lower = float(attrs.get("lower_bound", 0.125))
            upper = float(attrs.get("upper_bound", 0.334))
            node["attrs"] = {"act_type": "leaky", "slope": repr((lower + upper) / 2)}
            index = nodes.index(node)  # its mask output exists only in training
            graph["heads"] = [h for h in graph["heads"] if h[0] != index or h[1] == 0]
        elif op == "SoftmaxOutput":
            _softmax_output(graph, node, value_shapes)
        elif op in LOSS_IDENTITY:
            node["op"], node["attrs"], node["inputs"] = "identity", {}, node["inputs"][:1]
        elif op == "Reshape":
            out = value_shapes.get(_output_key(node))
            if out is not None:
                node["attrs"] = {"shape": str(tuple(int(d) for d in out))}
        elif op in ("SwapAxis", "swapaxes"):
            out = value_shapes.get(_output_key(node))
            if out is not None:
                axes = list(range(len(out)))
                a, b = (int(attrs.get(k, 0)) % len(out) for k in ("dim1", "dim2"))
                axes[a], axes[b] = axes[b], axes[a]
                node["op"], node["attrs"] = "transpose", {"axes": str(tuple(axes))}
    graph = prune(graph)
    symbol = mx.sym.load_json(json.dumps(graph))
    return symbol, graph, params


def _softmax_output(graph, node, value_shapes):
    """SoftmaxOutput at inference (measured on MXNet 1.9.1): softmax over axis 1 with
    multi_output, else over the last axis, whatever the rank; its label input goes."""
    axis = "1" if _true(node["attrs"].get("multi_output", "False")) else "-1"
    node["op"], node["attrs"], node["inputs"] = "softmax", {"axis": axis}, node["inputs"][:1]


def prune(graph):
    """Keep the nodes an output depends on (labels of rewritten loss layers go), in an order where
    every node follows its inputs; renumber them."""
    nodes = graph["nodes"]
    order, done = [], set()
    for head in graph["heads"]:
        stack = [(head[0], False)]
        while stack:
            i, expanded = stack.pop()
            if i in done:
                continue
            if expanded:
                done.add(i)
                order.append(i)
                continue
            stack.append((i, True))
            stack.extend((inp[0], False) for inp in reversed(nodes[i].get("inputs", [])) if inp[0] not in done)
    new_index = {old: new for new, old in enumerate(order)}
    new_nodes = []
    for old in order:
        node = dict(nodes[old])
        node["inputs"] = [[new_index[inp[0]]] + list(inp[1:]) for inp in node.get("inputs", [])]
        new_nodes.append(node)
    out = {k: v for k, v in graph.items() if k not in ("nodes", "arg_nodes", "heads", "node_row_ptr")}
    out["nodes"] = new_nodes
    out["arg_nodes"] = [i for i, n in enumerate(new_nodes) if n["op"] == "null"]
    out["heads"] = [[new_index[h[0]]] + list(h[1:]) for h in graph["heads"]]
    return out


@contextlib.contextmanager
def _export_quirks(held):
    """The exporter checks its graph against the newest opset and prints to stdout: neither here.
    It also writes every parameter through a Python list (`tolist()` into `float_data`), most of
    a large model's export time, and would hold every parameter as a TensorProto besides its array:
    parameters become initializers without data, their arrays kept in `held` ({name: Held}) for
    to_ir to write one at a time, the same values."""
    import onnx.checker
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph

    check_graph = onnx.checker.check_graph
    onnx.checker.check_graph = lambda *a, **k: None
    converters = MXNetGraph.registry_.get(12, {})
    list_weights = converters.get("null")
    if list_weights is not None:
        converters["null"] = _held_weights(list_weights, held)
    # the fused RNN operator: ours (runners/mxnet/rnn_export.py) at every opset the exporter reads
    rnn_converters = {v: table.get("RNN") for v, table in MXNetGraph.registry_.items()}
    for v in rnn_converters:
        MXNetGraph.registry_[v]["RNN"] = rnn_export.convert_rnn
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        onnx.checker.check_graph = check_graph
        if list_weights is not None:
            converters["null"] = list_weights
        for v, fn in rnn_converters.items():
            if fn is None:
                MXNetGraph.registry_[v].pop("RNN", None)
            else:
                MXNetGraph.registry_[v]["RNN"] = fn


class Held(object):
    """A parameter's array, kept out of the ONNX graph until to_ir writes it (split_lazy reads it)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def read(self):
        return self.array


class _NumpyParam(np.ndarray):
    """A parameter already copied out of MXNet, given to the exporter where it expects an NDArray:
    it reads only shape, dtype and asnumpy()."""

    def asnumpy(self):
        return self.view(np.ndarray)


def _numpy_params(params, used):
    """{name: _NumpyParam} of the used parameters, each NDArray let go as soon as it is copied (the
    exporter would otherwise copy them all while MXNet still holds them)."""
    out = {}
    for name in list(params):
        value = params.pop(name)
        if name in used:
            out[name] = value.asnumpy().view(_NumpyParam)
        del value
    return out


def _held_weights(list_weights, held):
    """The exporter's converter for parameters and inputs, with parameters as initializers whose
    data stays in `held`."""

    def convert(node, **kwargs):
        from onnx import TensorProto, helper

        if kwargs["is_input"]:
            return list_weights(node, **kwargs)
        name = node["name"]
        array = np.ascontiguousarray(kwargs["weights"][name])
        tensor = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype))
        tensor.dims.extend(array.shape)
        kwargs["initializer"].append(tensor)
        held[name] = Held(array)
        return [helper.make_tensor_value_info(name, tensor.data_type, array.shape)], (array.dtype,)

    return convert


def export(symbol, params, shapes, input_names, path, held):
    """The ONNX model mxnet.onnx makes of the symbol; `params` ({name: NDArray}) is emptied as the
    parameters are copied out of MXNet, and their arrays are left in `held` (_export_quirks)."""
    import onnx
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    from onnx import helper

    used = set(symbol.list_arguments()) | set(symbol.list_auxiliary_states())
    params = _numpy_params(params, used)
    in_shapes = [tuple(shapes[n]) for n in input_names]
    in_types = [onnx.TensorProto.FLOAT] * len(input_names)
    try:
        with _export_quirks(held):
            graph = MXNetGraph().create_onnx_graph_proto(
                symbol, params, in_shapes, in_types, opset_version=EXPORT_OPSET, dynamic=False
            )
    except Exception as exc:
        text = " ".join(str(exc).split())[:400] or type(exc).__name__
        raise RunnerError(
            "convert-failed",
            "mxnet.onnx could not convert the model: %s: %s" % (type(exc).__name__, text),
            file=path,
            hint="run again with --debug for the exporter's traceback",
        )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", EXPORT_OPSET)])


def postprocess(model, symbol, held):
    """Repair what the exporter writes: PReLU slope shapes, graph inputs, output order."""
    from onnx import numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    for node in g.node:
        name = node.input[1] if node.op_type == "PRelu" and len(node.input) > 1 else None
        if name in inits:
            slope = held[name].array if name in held else numpy_helper.to_array(inits[name])
            if slope.ndim == 1 and slope.size > 1:
                fixed = slope.reshape(-1, 1, 1)
                if name in held:
                    held[name] = Held(fixed)
                    del inits[name].dims[:]
                    inits[name].dims.extend(fixed.shape)
                else:
                    inits[name].CopyFrom(numpy_helper.from_array(fixed, name))
    # parameters are initializers, not inputs
    keep = [i for i in g.input if i.name not in inits]
    del g.input[:]
    g.input.extend(keep)
    # outputs in the symbol's order (the exporter sorts them by name)
    order = [_onnx_output_name(n) for n in symbol.list_outputs()]
    outs = {o.name: o for o in g.output}
    if set(order) == set(outs):
        ordered = [copy.deepcopy(outs[n]) for n in order]
        del g.output[:]
        g.output.extend(ordered)
    return model


def _onnx_output_name(name):
    """The value name the exporter gives MXNet output `name` (conv0_output -> conv0)."""
    if name.endswith("_output"):
        return name[: -len("_output")]
    head, _, index = name.rpartition("_output")
    if head and index.isdigit():
        return head + index
    return name


def parse(request, workspace):
    import mxnet as mx

    model = loading.load(list(request.sources))
    check_ops(model)
    input_names = loading.guess_inputs(model)
    loading.check_params(model, input_names)
    shapes = loading.resolve_shapes(model, list(request.inputs), input_names)
    loading.check_param_shapes(model, shapes)
    symbol, _, params = preprocess(model, shapes)
    model.params = None  # its NDArrays go as export copies them out
    held = {}
    onnx_model = postprocess(export(symbol, params, shapes, input_names, model.symbol_path, held), symbol, held)
    onnx_model.producer_name = "mmbroker mxnet runner (mxnet.onnx %s)" % mx.__version__
    meta = {
        "source_framework": "mxnet",
        "source_version": mx.__version__,
        "source_format": "symbol.json+params",
        "input_shapes": json.dumps(shapes),
    }
    for k, v in meta.items():
        p = onnx_model.metadata_props.add()
        p.key, p.value = k, v
    req = pb.ParseRequest()
    req.CopyFrom(request)
    req.workspace = workspace
    del req.inputs[:]
    for n in input_names:
        req.inputs.add(name=n, shape=shapes[n])
    name = os.path.basename(model.symbol_path)
    name = name[: -len("-symbol.json")] if name.endswith("-symbol.json") else os.path.splitext(name)[0]
    return to_ir(onnx_model, req, model.symbol_path, name=name, located=held)

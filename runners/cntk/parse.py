"""CNTK .model (v2) / legacy .dnn -> IR, by walking the Function graph: blocks (layers) opened into
primitive functions, one converter per primitive op (`parse_ops/`), the IR written at opset 18
directly with CNTK's shapes as value_info.

CNTK keeps static shapes without the batch axis, in row-major order as the Python API shows them;
attribute axes are CNTK's internal (column-major) static axis indices, so Python axis p of a
rank-r tensor is internal r-1-p. The IR puts the batch axis first (NCHW)."""

import json
import os

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.registry import Registry
from runners.common.rpc import pb
from runners.common.tensors import file_ref, save_npz

from . import graph, loading

PARSE = Registry("cntk", "parse", package="runners.cntk.parse_ops")


def registry():
    return PARSE.loaded()


class ParseContext(object):
    def __init__(self, flat, batch, path, length=None):
        self.flat = flat
        self.batch = batch
        self.length = length  # the sequence length of values with a sequence axis
        self.path = path
        self.nodes = []
        self.consts = dict(flat.params)
        self.extra_shapes = {}
        self._count = 0
        self.node = None  # the primitive being converted

    def shape(self, name):
        """The IR shape of a value: batch axis first for values that carry it."""
        if name in self.extra_shapes:
            return list(self.extra_shapes[name])
        static = list(self.flat.shapes[name])
        if name in self.flat.sequenced:
            return [self.batch, self.length] + static
        return [self.batch] + static if name in self.flat.batched else static

    def static_rank(self, name):
        return len(self.flat.shapes[name])

    def const(self, name):
        return self.consts.get(name)

    def fresh(self, base):
        self._count += 1
        return "%s/%s_%d" % (self.node.outputs[0] if self.node else "v", base, self._count)

    def add_const(self, base, array, dtype=np.float32):
        name = self.fresh(base)
        self.consts[name] = np.asarray(array, dtype=dtype)
        return name

    def ints(self, base, values):
        return self.add_const(base, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def add(self, op_type, inputs, outputs=None, shape=None, **attrs):
        """Add one IR node; returns its (first) output name. `shape` records a new value's shape."""
        from onnx import helper

        if outputs is None:
            outputs = [self.fresh(op_type.lower())]
        name = outputs[0]
        attrs = dict((k, v) for k, v in attrs.items() if v is not None)
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs))
        if shape is not None:
            self.extra_shapes[outputs[0]] = list(shape)
        return outputs[0]

    def python_axis(self, axis, rank):
        """A CNTK attribute axis (('ordered', 'static', i) or an index) -> Python static axis."""
        index = axis[2] if isinstance(axis, tuple) else int(axis)
        if index < 0:
            index += rank
        return rank - 1 - index

    def fail(self, message, hint=""):
        return RunnerError(
            "unsupported-attribute", message, file=self.path, node=self.node.name, op=self.node.op, hint=hint
        )


def check_ops(flat, path):
    reg = registry()
    missing = [(n.name, n.op) for n in flat.nodes if reg.lookup(n.op, ir.IR_OPSET) is None]
    if missing:
        from runners.common.errors import UnsupportedOps

        err = UnsupportedOps("parse", "cntk", missing)
        err.file = path
        err.hint = "these CNTK primitive ops have no IR converter; replace them in the model or add a converter"
        raise err


def batch_size(request, flat):
    for spec in request.inputs:
        if spec.shape:
            return int(spec.shape[0]) if len(spec.shape) > len(flat.shapes[flat.inputs[0][0]]) else 1
    return 1


def sequence_lengths(request, model):
    """{input name: sequence length} from the given shapes of inputs with a sequence axis
    ([batch, length] + the input's shape)."""
    out = {}
    args = dict((loading.argument_name(a), a) for a in model.arguments)
    for spec in request.inputs:
        a = args.get(spec.name) if spec.name else (list(args.values())[0] if len(args) == 1 else None)
        if a is not None and len(a.dynamic_axes) > 1 and len(spec.shape) == len(a.shape) + 2:
            out[loading.argument_name(a)] = int(spec.shape[1])
    return out


def cut(ctx, outputs, path):
    """Keep the nodes the requested outputs (--dstNode) depend on."""
    produced = dict((o, n) for n in ctx.nodes for o in n.output)
    missing = [o for o in outputs if o not in produced]
    if missing:
        raise RunnerError(
            "unknown-node",
            "no value named %s in the model" % ", ".join(missing),
            file=path,
            hint="value names: %s" % ", ".join(sorted(produced)[:30]),
        )
    needed, stack = set(), list(outputs)
    while stack:
        v = stack.pop()
        node = produced.get(v)
        if node is None or id(node) in needed:
            continue
        needed.add(id(node))
        stack.extend(i for i in node.input if i)
    ctx.nodes = [n for n in ctx.nodes if id(n) in needed]
    return list(outputs)


def to_model(flat, ctx, outputs):
    from onnx import TensorProto, helper, numpy_helper

    g_inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ctx.shape(name)) for name, _ in flat.inputs]
    g_outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ctx.shape(name)) for name in outputs]
    used = set(i for n in ctx.nodes for i in n.input)
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in ctx.consts.items() if k in used]
    value_info = []
    seen = set(outputs) | set(n for n, _ in flat.inputs)
    for node in ctx.nodes:
        for out in node.output:
            if out in seen:
                continue
            seen.add(out)
            if out in ctx.extra_shapes or out in flat.shapes:
                value_info.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, ctx.shape(out)))
    graph_proto = helper.make_graph(ctx.nodes, "main", g_inputs, g_outputs, initializer=inits, value_info=value_info)
    model = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.ir_version = 8
    return model


def parse(request, workspace):
    C = loading.import_cntk()
    path = loading.model_file(list(request.sources))
    model = loading.load(path)
    lengths = sequence_lengths(request, model)
    loading.check_arguments(model, path, lengths)
    if len(set(lengths.values())) > 1:
        raise RunnerError("bad-input", "inputs of different sequence lengths %s" % lengths, file=path,
                          hint="give every sequence input the same length")  # fmt: skip
    flat = graph.flatten(model)
    check_ops(flat, path)
    ctx = ParseContext(flat, batch_size(request, flat), path, list(lengths.values())[0] if lengths else None)
    reg = registry()
    for node in flat.nodes:
        ctx.node = node
        try:
            reg.lookup(node.op, ir.IR_OPSET)(node, ctx)
        except RunnerError as err:
            if not err.node:
                err.node, err.op = node.name, node.op
            err.file = err.file or path
            raise
    ctx.node = None
    outputs = cut(ctx, list(request.outputs), path) if request.outputs else flat.outputs
    onnx_model = to_model(flat, ctx, outputs)
    onnx_model.producer_name = "mmbroker cntk runner (cntk %s)" % C.__version__
    meta = {
        "source_framework": "cntk",
        "source_version": C.__version__,
        "source_format": os.path.splitext(path)[1].lstrip(".") or "model",
        "input_shapes": json.dumps(dict((n, ctx.shape(n)) for n, _ in flat.inputs)),
    }
    for k, v in meta.items():
        p = onnx_model.metadata_props.add()
        p.key, p.value = k, v
    graph_only, weights = ir.split(onnx_model)
    name = os.path.splitext(os.path.basename(path))[0]
    wpath = save_npz(os.path.join(workspace, name + ".npz"), weights)
    return pb.ParseResponse(graph=graph_only.SerializeToString(), weights=file_ref(wpath, "weights"))

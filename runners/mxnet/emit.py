"""IR graph -> readable Gluon source (`<name>.py`) and its parameters (`<name>.params`)."""

import os
import re

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.registry import discover, onnx_attributes
from runners.common.tensors import atomic_write

from .codegen import EMIT, EmitContext, IRNode, identifier

_discovered = []
_NO_FOLD = {"Dropout", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}
_FOLD_LIMIT = 1 << 22


def registry():
    if not _discovered:
        discover("runners.mxnet.ops")
        _discovered.append(True)
    return EMIT


def class_name(name):
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    cls = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return "Model" + cls if cls[0].isdigit() else cls


def _attrs(node):
    out = {}
    for k, v in onnx_attributes(node.proto).items():
        out[k] = v.decode("utf-8") if isinstance(v, bytes) else v
    return out


def _infer(model, weights):
    import onnx
    from onnx import helper, numpy_helper, shape_inference

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for init in m.graph.initializer:
        arr = weights.get(init.name)
        if arr is not None and arr.size <= 4096:
            init.CopyFrom(numpy_helper.from_array(np.asarray(arr), init.name))
    try:
        m = shape_inference.infer_shapes(m, data_prop=True)
    except Exception:
        pass
    dtypes = {}
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        et = vi.type.tensor_type.elem_type
        if et:
            try:
                dtypes[vi.name] = np.dtype(helper.tensor_dtype_to_np_dtype(et))
            except Exception:
                pass
    return ir.value_shapes(m), dtypes


def _fold(node, ctx):
    """Evaluate a node whose inputs are all known constants (shape arithmetic); True if folded."""
    if node.op_type in _NO_FOLD:
        return False
    if node.op_type == "Shape":
        shape = ctx.shape(node.inputs[0])
        if shape is None:
            return False
        a = _attrs(node)
        ctx.consts[node.outputs[0]] = np.array(shape, dtype=np.int64)[a.get("start", 0) : a.get("end", len(shape))]
        return True
    present = [i for i in node.inputs if i]
    if node.op_type != "Constant" and (not present or any(ctx.const(i) is None for i in present)):
        return False
    if sum(ctx.const(i).size for i in present) > _FOLD_LIMIT:
        return False
    from onnx.reference import ReferenceEvaluator

    try:
        outs = ReferenceEvaluator(node.proto).run(None, {i: ctx.const(i) for i in present})
    except Exception:
        return False
    for name, value in zip(node.outputs, outs):
        if name:
            ctx.consts[name] = np.asarray(value)
    return True


def _topological(nodes, available):
    ready, pending, ordered = set(available), list(nodes), []
    while pending:
        rest = []
        for n in pending:
            if all((not i) or i in ready for i in n.inputs):
                ordered.append(n)
                ready.update(o for o in n.outputs if o)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            missing = sorted(set(i for n in rest for i in n.inputs if i and i not in ready))
            raise RunnerError("bad-graph", "undefined values: %s" % ", ".join(missing[:10]), node=rest[0].name)
        pending = rest
    return ordered


def build(model, weights):
    reg = registry()
    opset = ir.opset_of(model)
    shapes, dtypes = _infer(model, weights)
    ctx = EmitContext(model, opset, shapes, dtypes)
    g = model.graph
    for init in g.initializer:
        if init.name not in weights:
            raise RunnerError("corrupt-model", "weights file has no tensor '%s'" % init.name)
        ctx.consts[init.name] = np.asarray(weights[init.name])
    inputs = ir.graph_inputs(model)
    nodes = _topological([IRNode(n, i) for i, n in enumerate(g.node)], [i.name for i in inputs] + list(ctx.consts))
    args = [ctx.new_var(i.name) for i in inputs]
    remaining = []
    for n in nodes:
        ctx.node = n
        if not _fold(n, ctx):
            remaining.append(n)
    reg.check([(n.name, n.op_type) for n in remaining], opset)
    for n in remaining:
        ctx.node = n
        fn = reg.lookup(n.op_type, opset)
        try:
            fn(n, ctx, **_attrs(n))
        except RunnerError as err:
            if not err.node:
                err.node, err.op, err.opset = n.name, n.op_type, opset
            raise
        except TypeError as exc:
            raise RunnerError("unsupported-attribute", "cannot emit: %s" % exc, node=n.name, op=n.op_type, opset=opset)
    ctx.node = None
    returns = []
    for o in g.output:
        if o.name in ctx.consts and o.name not in ctx.vars:
            returns.append(ctx.x(o.name))
        else:
            returns.append(ctx.x(o.name))
    return ctx, args, returns


_HEADER = '''"""{cls}: MXNet Gluon code generated by mmbroker from the IR graph '{graph}' (opset {opset}).

Parameters: {stem}.params beside this file.
    net = {cls}()
    net.load_parameters("{stem}.params")
    net.hybridize()
    out = net(mx.nd.array(x))
Every operator is named after the IR value it computes (`name=`), so `net.export(...)` writes a
-symbol.json whose node names are the IR's value names.
"""
import mxnet as mx
from mxnet import gluon

INPUTS = {inputs}
OUTPUTS = {outputs}


class {cls}(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(prefix="", **kwargs)
        with self.name_scope():
{init}

    def hybrid_forward(self, F, {args}, **p):
{forward}
        return {returns}


if __name__ == "__main__":
    net = {cls}()
    net.load_parameters(__file__[: -len(".py")] + ".params")
    example = [mx.nd.zeros(shape, dtype=dtype) for _, shape, dtype in INPUTS]
    result = net(*example)
    for name, value in zip(OUTPUTS, result if isinstance(result, (list, tuple)) else [result]):
        print(name, value.shape)
'''


def render(model, ctx, args, returns, cls, stem):
    inputs = []
    for i in ir.graph_inputs(model):
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in i.type.tensor_type.shape.dim)
        inputs.append((i.name, dims, np.dtype(ctx.dtypes.get(i.name, np.float32)).name))
    ind = " " * 12
    return _HEADER.format(
        cls=cls,
        graph=model.graph.name or "main",
        opset=ir.opset_of(model),
        stem=stem,
        inputs=repr(inputs),
        outputs=repr([o.name for o in model.graph.output]),
        init="\n".join(ind + line for line in ctx.init_lines) or ind + "pass",
        args=", ".join(args),
        forward="\n".join(" " * 8 + line for line in ctx.forward_lines) or " " * 8 + "pass",
        returns=", ".join(returns) if returns else "None",
    )


def emit(graph_bytes, weights, out_dir, name):
    """Write `<out_dir>/<name>.py` and `<out_dir>/<name>.params`."""
    import mxnet as mx
    import onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(graph_bytes))
    except Exception as exc:
        raise RunnerError("corrupt-model", "the IR graph does not parse as an ONNX model: %s" % exc)
    stem = identifier(name or model.graph.name or "model", "model")
    ctx, args, returns = build(model, weights)
    cls = class_name(stem)
    source = render(model, ctx, args, returns, cls, stem)
    compile(source, stem + ".py", "exec")
    os.makedirs(out_dir, exist_ok=True)
    py_path = os.path.join(out_dir, stem + ".py")
    params_path = os.path.join(out_dir, stem + ".params")
    arrays = {k: mx.nd.array(v, dtype=v.dtype) for k, v in ctx.params.items()}

    def write_params(tmp):
        mx.nd.save(tmp, arrays)

    def write_py(tmp):
        with open(tmp, "w") as f:
            f.write(source)

    atomic_write(params_path, write_params)
    atomic_write(py_path, write_py)
    return py_path, params_path, ctx.warnings

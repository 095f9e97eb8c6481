"""IR graph -> readable PyTorch source (`<name>.py`) and its state_dict (`<name>.pth`)."""

import os

import numpy as np

from runners.common import ir
from runners.common.emit_graph import attributes as _attrs
from runners.common.emit_graph import class_name, convert_nodes, read_graph
from runners.common.emit_graph import infer_shapes as _infer
from runners.common.emit_graph import topological as _topological
from runners.common.errors import RunnerError
from runners.common.registry import discover
from runners.common.tensors import atomic_write

from .codegen import EMIT, EmitContext, IRNode, identifier, lit

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
LACKS = ("AveragePool.exclude_pad_asymmetric",)

_discovered = []

# Ops whose result depends on more than their inputs: never folded into constants.
_NO_FOLD = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
    "Dropout",
}
_FOLD_LIMIT = 1 << 22  # elements: folding bigger tensors would only bloat the state_dict


def registry():
    if not _discovered:
        discover("runners.pytorch.ops")
        _discovered.append(True)
    return EMIT


def _constant_value(node, attrs):
    from onnx import numpy_helper

    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dt in (("value_float", np.float32), ("value_int", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dt)
    for key, dt in (("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return np.array(list(attrs[key]), dtype=dt)
    return None


def _fold(node, ctx):
    """Evaluate a node whose inputs are all constants; True when folded."""
    if node.op_type in _NO_FOLD or node.op_type.startswith("Random"):
        return False
    if node.op_type == "Constant":
        value = _constant_value(node, _attrs(node))
        if value is None:
            return False
        ctx.consts[node.outputs[0]] = value
        return True
    if node.op_type == "Shape":
        shape = ctx.static_shape(node.inputs[0])
        if shape is None:
            return False
        attrs = _attrs(node)
        r = len(shape)
        start = attrs.get("start", 0)
        end = attrs.get("end", r)
        ctx.consts[node.outputs[0]] = np.array(shape, dtype=np.int64)[start:end]
        return True
    present = [i for i in node.inputs if i]
    if not present or any(ctx.const(i) is None for i in present):
        return False
    if sum(ctx.const(i).size for i in present) > _FOLD_LIMIT:
        return False
    proto = node.proto
    if proto.domain not in ("", "ai.onnx"):
        return False
    from onnx.reference import ReferenceEvaluator

    try:
        feeds = {i: ctx.const(i) for i in present}
        outs = ReferenceEvaluator(proto).run(None, feeds)
    except Exception:
        return False
    for name, value in zip(node.outputs, outs):
        if name:
            ctx.consts[name] = np.asarray(value)
    return True


def build(model, weights):
    """Generate code for a ModelProto (initializers without data) and its weights.

    Returns (context, class name) with the lines and state_dict in the context."""
    reg = registry()
    opset = ir.opset_of(model)
    for imp in model.opset_import:
        if imp.domain not in ("", "ai.onnx"):
            raise RunnerError(
                "unsupported-op",
                "ops of domain '%s' cannot be emitted" % imp.domain,
                hint="convert the model to standard ONNX ops first",
            )
    shapes, dtypes = _infer(model, weights)
    ctx = EmitContext(model, weights, opset, shapes, dtypes)
    g = model.graph
    for init in g.initializer:
        if init.name not in weights:
            raise RunnerError("corrupt-model", "weights file has no tensor '%s'" % init.name)
        ctx.consts[init.name] = np.asarray(weights[init.name])
    inputs = ir.graph_inputs(model)
    nodes = _topological([IRNode(n, i) for i, n in enumerate(g.node)], [i.name for i in inputs] + list(ctx.consts))
    for n in nodes:
        if n.op_type == "Constant":
            ctx.node = n
            _fold(n, ctx)

    # graph inputs become forward arguments
    args = [ctx.new_var(i.name) for i in inputs]

    # fold what is constant, then check every remaining op at once
    remaining = []
    for n in nodes:
        ctx.node = n
        if n.op_type == "Constant" or not _fold(n, ctx):
            if n.op_type != "Constant":
                remaining.append(n)
    reg.check([(n.name, n.op_type) for n in remaining], opset)
    for n in remaining:
        for i in n.inputs:
            if i:
                ctx.consumers.setdefault(i, []).append(n)
    ctx.graph_outputs = set(o.name for o in g.output)

    convert_nodes(reg, remaining, ctx, opset, skip=lambda n: id(n) in ctx.absorbed)
    returns = [ctx.x(o.name) for o in g.output]
    return ctx, args, returns


_HEADER = '''"""{cls}: PyTorch code generated by mmbroker from the IR graph '{graph}' (opset {opset}).

Weights: {stem}.pth beside this file, a state_dict:
    model = {cls}()
    model.load_state_dict(torch.load("{stem}.pth"))
    model.eval()
IR_VALUES maps each variable of `forward` to the IR value it computes.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

INPUTS = {inputs}
OUTPUTS = {outputs}
IR_VALUES = {{
{ir_values}
}}


class {cls}(nn.Module):
    def __init__(self):
        super().__init__()
{init}

    def forward(self, {args}):
{forward}
        return {returns}


if __name__ == "__main__":
    model = {cls}()
    model.load_state_dict(torch.load(__file__[: -len(".py")] + ".pth"))
    model.eval()
    example = [torch.zeros([d if d > 0 else 1 for d in shape], dtype=getattr(torch, dtype))
               for _, shape, dtype in INPUTS]
    with torch.no_grad():
        result = model(*example)
    for name, value in zip(OUTPUTS, result if isinstance(result, tuple) else (result,)):
        print(name, tuple(value.shape))
'''


def render(model, ctx, args, returns, cls, stem):
    inputs = []
    for i in ir.graph_inputs(model):
        t = i.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
        dtype = ctx.dtypes.get(i.name, np.dtype("float32"))
        inputs.append((i.name, dims, np.dtype(dtype).name))
    ind = " " * 8
    ir_values = "\n".join("    %r: %r," % (var, name) for var, name in ctx.ir_values)
    return _HEADER.format(
        cls=cls,
        graph=model.graph.name or "main",
        opset=ir.opset_of(model),
        stem=stem,
        inputs=repr(inputs),
        outputs=repr([o.name for o in model.graph.output]),
        ir_values=ir_values,
        init="\n".join(ind + line for line in ctx.init_lines) or ind + "pass",
        args=", ".join(args),
        forward="\n".join(ind + line for line in ctx.forward_lines) or ind + "pass",
        returns=", ".join(returns) if returns else "None",
    )


def emit(graph_bytes, weights, out_dir, name):
    """Write `<out_dir>/<name>.py` and `<out_dir>/<name>.pth`; returns (py path, pth path, warnings)."""
    import torch

    model = read_graph(graph_bytes)
    stem = identifier(name or model.graph.name or "model", "model")
    ctx, args, returns = build(model, weights)
    cls = class_name(stem)
    source = render(model, ctx, args, returns, cls, stem)
    compile(source, stem + ".py", "exec")  # a generator bug must not produce a broken file
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    py_path = os.path.join(out_dir, stem + ".py")
    pth_path = os.path.join(out_dir, stem + ".pth")
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in ctx.state_dict.items()}

    def write_pth(tmp):
        torch.save(state, tmp)

    def write_py(tmp):
        with open(tmp, "w") as f:
            f.write(source)

    atomic_write(pth_path, write_pth)
    atomic_write(py_path, write_py)
    return py_path, pth_path, ctx.warnings


__all__ = ["emit", "build", "registry", "lit"]

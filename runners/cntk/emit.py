"""IR graph -> readable CNTK Python source (`<name>.py`, one `build(weights)` function of CNTK ops)
and its weights (`<name>.npz`)."""

from runners.common import ir
from runners.common.codegen import lit
from runners.common.emit import emit_nodes
from runners.common.emit_graph import attributes, read_graph, write_emitted
from runners.common.errors import RunnerError
from runners.common.registry import Registry

from .codegen import CNTKContext, identifier

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
# CNTK's average pooling leaves the padding out only with its own automatic padding; explicit
# padding (C.pad first) is counted. times() holds a constant matrix; no transposed A. LRN's window
# is centred (odd sizes). element_max/element_min take two operands.
LACKS = ("AveragePool.exclude_pad", "Gemm.general", "LRN.even_size", "Max.variadic", "Min.variadic")

INDEX_TYPES = (6, 7)  # TensorProto.INT32, INT64
RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")

EMIT = Registry("cntk", "emit", package="runners.cntk.emit_ops")


def registry():
    return EMIT.loaded()


def _check_float(ctx, value_info):
    """CNTK computes in float32/float64: an integer or boolean input would be computed as floats.
    An integer input read only as the indices of a Gather from a constant table (token ids into an
    embedding) is taken as a float input: indices below 2**24 are exact in float32."""
    from onnx import TensorProto

    elem = value_info.type.tensor_type.elem_type
    if elem in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
        return
    if elem in INDEX_TYPES and _only_indices(ctx, value_info.name):
        return
    raise RunnerError(
        "unsupported-attribute",
        "input '%s' is %s; CNTK computes in floating point only (an integer input is taken only as the "
        "indices of a Gather)" % (value_info.name, TensorProto.DataType.Name(elem)),
        hint="convert to another target framework, or give the model a floating-point input",
    )


def _only_indices(ctx, name):
    """`name` is read only as Gather indices, directly or through reshapes."""
    users = ctx.consumers.get(name, [])
    if not users or name in ctx.graph_outputs:
        return False
    for n in users:
        if n.op_type in RESHAPES and n.input(0) == name and name not in n.inputs[1:]:
            if not _only_indices(ctx, n.outputs[0]):
                return False
        elif n.op_type != "Gather" or n.input(0) == name:
            return False
    return True


def batch_inputs(ctx):
    """The graph inputs that carry the batch axis: those of the highest rank whose first dimension
    is the first such input's. The others (a lower rank broadcast against them, or a first
    dimension that is not the batch) are CNTK inputs without dynamic axes."""
    shapes = [(i.name, ctx.shape(i.name)) for i in ctx.inputs]
    ranked = [(n, s) for n, s in shapes if s]
    if not ranked:
        return set()
    top = max(len(s) for _, s in ranked)
    batch = [s for _, s in ranked if len(s) == top][0][0]
    return set(n for n, s in ranked if len(s) == top and s[0] == batch and not _sequence_first(ctx, n))


def _sequence_first(ctx, name):
    """`name` is read only as the input of recurrent layers in ONNX's default layout: its first axis
    is the sequence, the batch is its second (the recurrence makes it CNTK's batch axis)."""
    users = ctx.consumers.get(name, [])
    return bool(users) and all(
        n.op_type in ("LSTM", "GRU", "RNN") and n.input(0) == name and not attributes(n).get("layout", 0) for n in users
    )


def build(model, weights):
    ctx = CNTKContext(model, weights)
    batched = batch_inputs(ctx)
    for i in ctx.inputs:
        dims = ctx.shapes.get(i.name)
        if dims is None or any(d is None for d in dims[1:]) or (i.name not in batched and None in dims):
            raise RunnerError(
                "missing-input-shape",
                "input '%s' has no static shape %s" % (i.name, dims),
                hint="give the input shape when converting (--inputShape)",
            )
        _check_float(ctx, i)
        var = ctx.new_var(i.name)
        if i.name in batched:
            ctx.lines.append("%s = C.input_variable(%s, name=%s)" % (var, lit(tuple(dims[1:])), lit(i.name)))
            ctx.batched.add(i.name)
        else:
            ctx.lines.append(
                "%s = C.input_variable(%s, dynamic_axes=[], name=%s)" % (var, lit(tuple(dims)), lit(i.name))
            )
    emit_nodes(registry(), ctx)
    ctx.check_inputs_read(ctx.read)  # a CNTK Function has no argument it does not use
    returns = []
    for o in model.graph.output:
        value = ctx.x(o.name)
        if o.name in ctx.consts:  # a constant output (its node's inputs were all constant): a function
            const, value = value, ctx.new_var(o.name)
            ctx.lines.append("%s = C.alias(%s, name=%s)" % (value, const, lit(o.name)))
        returns.append(value)
    return ctx, returns


_HEADER = '''"""CNTK code generated by mmbroker from the IR graph '{graph}' (opset {opset}).

Weights: {stem}.npz beside this file.
    with np.load("{stem}.npz") as w:
        model = build(dict(w))
    out = model.eval({{model.arguments[0]: x}})   # x: (batch,) + INPUTS shape without the batch
Shapes leave out the batch axis (CNTK's dynamic axis); every function is named after the IR value
it computes.
"""
import numpy as np
import cntk as C

INPUTS = {inputs}
OUTPUTS = {outputs}


def build(weights):
{body}
    return {returns}


if __name__ == "__main__":
    with np.load(__file__[: -len(".py")] + ".npz") as w:
        model = build(dict(w))
    for output in model.outputs:
        print(output.name, output.shape)
'''


def render(model, ctx, returns, stem):
    inputs = []
    for i in ir.graph_inputs(model):
        inputs.append((i.name, tuple(ctx.shapes[i.name]), "float32"))
    outs = ", ".join(returns)
    return _HEADER.format(
        graph=model.graph.name or "main",
        opset=ir.opset_of(model),
        stem=stem,
        inputs=lit(inputs),
        outputs=lit([o.name for o in model.graph.output]),
        body="\n".join("    " + line for line in ctx.lines),
        returns=returns[0] if len(returns) == 1 else "C.combine([%s])" % outs,
    )


def emit(graph_bytes, weights, out_dir, name):
    """Write `<out_dir>/<name>.py` and `<out_dir>/<name>.npz`."""
    model = read_graph(graph_bytes)
    stem = identifier(name or model.graph.name or "model", "model")
    ctx, returns = build(model, weights)
    source = render(model, ctx, returns, stem)
    py_path, npz_path = write_emitted(out_dir, stem, source, ctx.weights)
    return py_path, npz_path, ctx.warnings

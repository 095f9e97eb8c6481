"""IR graph -> readable Keras 3 functional source (`<name>.py`) and its weights (`<name>.npz`).

The generated module defines `build_model(weights)`; `weights` is the mapping `np.load` gives for
the .npz (layer weights as `<layer>/<i>`, constants as `const/<name>`). The model takes the IR's
inputs as they are (NCHW from PyTorch/ONNX sources, NHWC from TensorFlow sources); image tensors
are permuted to NHWC once after the input and back to the IR order at the outputs.
"""

import os

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.registry import discover, onnx_attributes
from runners.common.tensors import atomic_write, save_npz

from .codegen import EMIT, IRNode, KerasContext, identifier, lit

_discovered = []
_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
_FOLD_LIMIT = 1 << 22


def registry():
    if not _discovered:
        discover("runners.tensorflow.ops")
        _discovered.append(True)
    return EMIT


def attrs_of(node):
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
    shapes = ir.value_shapes(m)
    dtypes = {}
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        et = vi.type.tensor_type.elem_type
        if et:
            try:
                dtypes[vi.name] = np.dtype(helper.tensor_dtype_to_np_dtype(et))
            except Exception:
                pass
    return shapes, dtypes


def _fold(node, ctx):
    """Evaluate a node whose inputs are all constants (and Shape of a static shape)."""
    if node.op_type in _NO_FOLD:
        return False
    if node.op_type == "Shape":
        s = ctx.shape(node.inputs[0])
        if s is None or any(d is None or d <= 0 for d in s):
            return False
        a = attrs_of(node)
        ctx.consts[node.outputs[0]] = np.array(s, dtype=np.int64)[a.get("start", 0) : a.get("end", len(s))]
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
            raise RunnerError("bad-graph", "graph has a cycle or undefined values", node=rest[0].name)
        pending = rest
    return ordered


def build(model, weights):
    reg = registry()
    opset = ir.opset_of(model)
    shapes, dtypes = _infer(model, weights)
    ctx = KerasContext(model, opset, shapes, dtypes)
    g = model.graph
    for init in g.initializer:
        if init.name not in weights:
            raise RunnerError("corrupt-model", "weights file has no tensor '%s'" % init.name)
        ctx.consts[init.name] = np.asarray(weights[init.name])
    inputs = ir.graph_inputs(model)
    nodes = _topological([IRNode(n, i) for i, n in enumerate(g.node)], [i.name for i in inputs] + list(ctx.consts))
    remaining = []
    for n in nodes:
        ctx.node = n
        if not _fold(n, ctx):
            remaining.append(n)
    reg.check([(n.name, n.op_type) for n in remaining], opset)
    scopes = [n.name.split("/")[0] + "/" for n in remaining if "/" in n.name]
    if scopes:
        top = max(set(scopes), key=scopes.count)
        if scopes.count(top) * 2 > len(remaining):
            ctx.prefix = top
    for n in remaining:
        for i in n.inputs:
            if i:
                ctx.consumers.setdefault(i, []).append(n)
    ctx.graph_outputs = {o.name for o in g.output}
    specs = []
    for vi in inputs:
        shape = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        if not shape or any(d is None or d <= 0 for d in shape):
            raise RunnerError(
                "dynamic-shape",
                "input '%s' has dynamic dimensions %s; Keras code needs static shapes" % (vi.name, shape),
                hint="parse the model again with --inputShape",
            )
        var = ctx.new_var(vi.name)
        dtype = dtypes.get(vi.name, np.dtype("float32")).name
        ctx.lines.append(
            "%s = keras.Input(shape=%s, batch_size=%d, dtype=%r, name=%r)"
            % (var, lit(tuple(shape[1:])), shape[0], dtype, identifier(vi.name))
        )
        ctx.bind(vi.name, var, tuple(range(len(shape))))
        specs.append((vi.name, shape, dtype, var))
    for n in remaining:
        if id(n) in ctx.absorbed:
            continue
        ctx.node = n
        fn = reg.lookup(n.op_type, opset)
        try:
            fn(n, ctx, **attrs_of(n))
        except RunnerError as err:
            err.node = err.node or n.name
            err.op = err.op or n.op_type
            raise
    returns = []
    for o in g.output:
        if o.name in ctx.consts and not ctx.layouts(o.name):
            raise RunnerError("constant-output", "output '%s' is a constant" % o.name, hint="cut the graph earlier")
        returns.append(ctx.x(o.name))
    return ctx, specs, returns


_TEMPLATE = '''"""Keras 3 model generated by mmbroker from the IR graph '{graph}' (opset {opset}).

Functional API, NHWC inside: image inputs are permuted to NHWC once after keras.Input and back
to the IR order at the outputs. Weights: {stem}.npz beside this file (np.load, no pickle).

    import numpy as np
    from {stem} import build_model
    model = build_model(dict(np.load("{stem}.npz")))
"""

import keras
import numpy as np
from keras import layers

INPUTS = {inputs}
OUTPUTS = {outputs}

# layer name -> keys of its weights in the .npz, in layer.get_weights() order
LAYER_WEIGHTS = {{
{layer_weights}
}}


def build_model(W):
    """The model with its weights; W maps .npz keys to arrays."""
{body}
    model = keras.Model(inputs=[{args}], outputs=[{returns}], name={name!r})
    for layer_name, keys in LAYER_WEIGHTS.items():
        model.get_layer(layer_name).set_weights([W[k] for k in keys])
    return model


def load(npz_path):
    with np.load(npz_path, allow_pickle=False) as data:
        return build_model({{k: data[k] for k in data.files}})
'''


def render(model, ctx, specs, returns, stem):
    ind = "    "
    return _TEMPLATE.format(
        graph=model.graph.name or "main",
        opset=ir.opset_of(model),
        stem=stem,
        inputs=lit([(n, s, d) for n, s, d, _ in specs]),
        outputs=lit([o.name for o in model.graph.output]),
        layer_weights="\n".join("    %r: %s," % (name, lit(keys)) for name, keys in ctx.layer_weights),
        body="\n".join(ind + line for line in ctx.lines),
        args=", ".join(v for _, _, _, v in specs),
        returns=", ".join(returns),
        name=stem,
    )


def emit(graph_bytes, weights, out_dir, name):
    """Write <out_dir>/<name>.py and <name>.npz; returns their paths."""
    import onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(graph_bytes))
    except Exception as exc:
        raise RunnerError("corrupt-model", "the IR graph does not parse as an ONNX model: %s" % exc)
    stem = identifier(name or "model", "model")
    ctx, specs, returns = build(model, weights)
    source = render(model, ctx, specs, returns, stem)
    compile(source, stem + ".py", "exec")
    os.makedirs(out_dir, exist_ok=True)
    py_path = os.path.join(out_dir, stem + ".py")
    npz_path = save_npz(os.path.join(out_dir, stem + ".npz"), ctx.weights)

    def write_py(tmp):
        with open(tmp, "w") as f:
            f.write(source)

    atomic_write(py_path, write_py)
    return py_path, npz_path

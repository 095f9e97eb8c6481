"""Graph helpers every emitter needs: decoded attributes, shapes and dtypes of every IR value,
topological order, class names for generated code."""

import re

import numpy as np

from . import ir
from .errors import InternalBug, RunnerError
from .registry import onnx_attributes


class IRNode(object):
    """One graph node as converters see it: name, op_type (also as `op`), inputs ('' when absent),
    outputs."""

    def __init__(self, proto, index):
        self.proto = proto
        self.op_type = proto.op_type
        self.op = proto.op_type
        self.name = proto.name or "%s_%d" % (proto.op_type, index)
        self.inputs = list(proto.input)
        self.outputs = list(proto.output)

    def input(self, i):
        return self.inputs[i] if i < len(self.inputs) and self.inputs[i] else None


def read_graph(graph_bytes):
    """The IR graph of an Emit request as a ModelProto (a clear error when it does not parse)."""
    import onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(bytes(graph_bytes))
    except Exception as exc:
        raise RunnerError("corrupt-model", "the IR graph does not parse as an ONNX model: %s" % exc)
    return model


def attributes(node):
    """An IR node's attributes as Python values, bytes decoded to str."""
    out = {}
    for k, v in onnx_attributes(node.proto).items():
        out[k] = v.decode("utf-8") if isinstance(v, bytes) else v
    return out


def infer_shapes(model, weights):
    """({value: shape}, {value: numpy dtype}) from ONNX shape inference with small constants filled in."""
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
    except Exception:  # partial information is still useful; missing shapes fail per node
        pass
    shapes = ir.value_shapes(m)
    dtypes = {}
    g = m.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        et = vi.type.tensor_type.elem_type
        if et:
            try:
                dtypes[vi.name] = np.dtype(helper.tensor_dtype_to_np_dtype(et))
            except Exception:
                pass
    return shapes, dtypes


def topological(nodes, available):
    """`nodes` (with .inputs/.outputs/.name/.op_type) in an order where every input is ready."""
    ready = set(available)
    pending = list(nodes)
    ordered = []
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
            raise RunnerError(
                "invalid-model",
                "graph has a cycle or undefined values: %s" % ", ".join(missing[:10]),
                node=rest[0].name,
                op=rest[0].op_type,
            )
        pending = rest
    return ordered


def class_name(name):
    """A CamelCase Python class name from a file or graph name."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    cls = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return "Model" + cls if cls[0].isdigit() else cls


NO_FOLD = {"Dropout", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
           "Bernoulli"}  # fmt: skip
FOLD_LIMIT = 1 << 22  # elements: folding bigger tensors would only bloat the weights


def fold(node, ctx, no_fold=NO_FOLD, limit=FOLD_LIMIT):
    """Evaluate a node whose inputs are all constants (and Shape of a fully static shape) into
    `ctx.consts`, with onnx's reference implementation; True when folded. `ctx` has `shape(value)`,
    `const(value)` and the dict `consts`."""
    if node.op_type in no_fold:
        return False
    if node.op_type == "Shape":
        s = ctx.shape(node.inputs[0])
        if s is None or any(d is None or d <= 0 for d in s):
            return False
        a = attributes(node)
        ctx.consts[node.outputs[0]] = np.array(s, dtype=np.int64)[a.get("start", 0) : a.get("end", len(s))]
        return True
    present = [i for i in node.inputs if i]
    if node.op_type != "Constant" and (not present or any(ctx.const(i) is None for i in present)):
        return False
    if sum(ctx.const(i).size for i in present) > limit:
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


def convert_nodes(registry, nodes, ctx, opset, skip=None, fold_constants=False):
    """Check that `registry` converts every node (one UnsupportedOps naming every node it lacks),
    then call `fn(node, ctx, **attributes)` for each, with the node, op and opset named in any error.
    `ctx.node` is the node being converted. With `fold_constants`, nodes whose inputs are all
    constants are first folded into `ctx.consts` (see `fold`); `skip(node)`, asked just before a
    node is converted, can pass over nodes an earlier converter absorbed."""
    if fold_constants:
        remaining = []
        for n in nodes:
            ctx.node = n
            if not fold(n, ctx):
                remaining.append(n)
        nodes = remaining
    registry.check([(n.name, n.op_type) for n in nodes], opset)
    for n in nodes:
        if skip is not None and skip(n):
            continue
        ctx.node = n
        fn = registry.lookup(n.op_type, opset)
        try:
            fn(n, ctx, **attributes(n))
        except RunnerError as err:
            if not err.node:
                err.node, err.op, err.opset = n.name, n.op_type, opset
            raise
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise InternalBug(exc, node=n.name, op=n.op_type, opset=opset)
            raise RunnerError("unsupported-attribute", "cannot emit: %s" % exc, node=n.name, op=n.op_type, opset=opset)
        except Exception as exc:  # a bug in the converter: name the node it was converting
            raise InternalBug(exc, node=n.name, op=n.op_type, opset=opset)
    ctx.node = None


def graph_nodes(model, weights, consts):
    """Fill `consts` with the graph's initializers from `weights` (a clear error for a missing
    one) and return the graph's nodes as IRNodes in topological order."""
    g = model.graph
    for init in g.initializer:
        if init.name not in weights:
            raise RunnerError("weights-mismatch", "the IR weights have no tensor '%s'" % init.name)
        consts[init.name] = np.asarray(weights[init.name])
    inputs = [i.name for i in ir.graph_inputs(model)]
    return topological([IRNode(n, i) for i, n in enumerate(g.node)], inputs + list(consts))


def write_emitted(out_dir, stem, source, weights):
    """Check that `source` compiles, then write `<stem>.npz` and `<stem>.py` atomically; returns
    (py path, npz path)."""
    import os

    from .tensors import atomic_write, save_npz

    compile(source, stem + ".py", "exec")
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    npz_path = save_npz(os.path.join(out_dir, stem + ".npz"), weights)

    def write_py(tmp):
        with open(tmp, "w") as f:
            f.write(source)

    return atomic_write(os.path.join(out_dir, stem + ".py"), write_py), npz_path


def ordered_nodes(model, weights, ctx):
    """(graph inputs, IRNodes in an order where every input is ready), the weights in `ctx.consts`."""
    return ir.graph_inputs(model), graph_nodes(model, weights, ctx.consts)

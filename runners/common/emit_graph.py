"""Graph helpers every emitter needs: decoded attributes, shapes and dtypes of every IR value,
topological order, class names for generated code."""

import re

import numpy as np

from . import ir
from .errors import RunnerError
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

    def output(self, i):
        """Output `i`'s name, or None when the node does not produce it."""
        return self.outputs[i] if i < len(self.outputs) and self.outputs[i] else None


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
    """An IR node's attributes as Python values, bytes decoded to str (in lists too: an RNN's
    activations)."""
    out = {}
    for k, v in onnx_attributes(node.proto).items():
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        elif isinstance(v, list) and v and all(isinstance(e, bytes) for e in v):
            v = [e.decode("utf-8") for e in v]
        out[k] = v
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

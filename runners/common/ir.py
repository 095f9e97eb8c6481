"""The IR on disk: an ONNX ModelProto whose initializers carry no data, and an .npz beside it.

`split` turns a full ONNX model into (graph bytes, weights dict); `join` puts them back together.
"""

import numpy as np

IR_OPSET = 18  # the one opset every graph in the IR uses (ai.onnx domain)
IR_LAYOUT = "NCHW"
IR_VERSION = 8  # the ONNX IR version that goes with opset 18


def set_ir_version(model):
    """Raise an old model's IR version to the IR's (IR 3 required every initializer to be listed as a
    graph input; once the IR opset is reached that listing is not needed). Returns the model."""
    if model.ir_version < IR_VERSION:
        model.ir_version = IR_VERSION
    return model


def split(model):
    """Return (graph-only ModelProto, {initializer name: ndarray}). `model` is not modified."""
    import onnx
    from onnx import numpy_helper

    graph_only = onnx.ModelProto()
    graph_only.CopyFrom(model)
    weights = {}
    for init in graph_only.graph.initializer:
        weights[init.name] = numpy_helper.to_array(init)
        dims, dtype, name = list(init.dims), init.data_type, init.name
        init.Clear()
        init.name, init.data_type = name, dtype
        init.dims.extend(dims)
    return graph_only, weights


def join(graph, weights):
    """A full ModelProto from graph bytes (or a ModelProto) and the weights mapping."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto()
    if isinstance(graph, (bytes, bytearray)):
        model.ParseFromString(bytes(graph))
    else:
        model.CopyFrom(graph)
    for init in model.graph.initializer:
        if init.name not in weights:
            raise KeyError(init.name)
        arr = np.asarray(weights[init.name])
        filled = numpy_helper.from_array(arr, init.name)
        init.CopyFrom(filled)
    return model


def opset_of(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 0


def value_shapes(model):
    """{value name: [dims or None]} for inputs, outputs and value_info of the graph."""
    out = {}
    g = model.graph
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    for init in g.initializer:
        out[init.name] = list(init.dims)
    return out


def graph_inputs(model):
    """Graph inputs that are not initializers."""
    inits = set(i.name for i in model.graph.initializer)
    return [i for i in model.graph.input if i.name not in inits]

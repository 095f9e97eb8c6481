"""The IR on disk: an ONNX ModelProto whose initializers carry no data, and an .npz beside it.

`split` turns a full ONNX model into (graph bytes, weights dict); `join` puts them back together.
"""

import numpy as np

IR_OPSET = 18  # the one opset every graph in the IR uses (ai.onnx domain)
IR_LAYOUT = "NCHW"
IR_VERSION = 8  # the ONNX IR version that goes with opset 18
# metadata of a graph whose free dimensions were fixed for a target: the inputs whose batch was free
# (JSON list), for emitters whose code can keep the batch free although it needs the other sizes
FREE_BATCH_KEY = "mmbroker.free_batch"


def set_ir_version(model):
    """Raise an old model's IR version to the IR's (IR 3 required every initializer to be listed as a
    graph input; once the IR opset is reached that listing is not needed). Returns the model."""
    if model.ir_version < IR_VERSION:
        model.ir_version = IR_VERSION
    return model


def split(model, held=None):
    """Return (graph-only ModelProto, {initializer name: ndarray}). `model` is not modified.
    `held` ({name: TensorProto}) gives the data of initializers the model holds without it
    (onnx_models.slim_model)."""
    graph_only, items = split_lazy(model, held)
    return graph_only, dict((name, read()) for name, read in items)


def split_lazy(model, held=None):
    """(graph-only ModelProto, [(name, read)]): read() makes that initializer's array when called,
    so that a writer can make, write and let go of one array at a time. A `held` value may also be
    an object whose read() makes the array (onnx_wire.Located)."""
    import onnx

    graph_only = model_of(model)
    items = []
    for init in graph_only.graph.initializer:
        source = held.get(init.name) if held else None
        read = getattr(source, "read", None)
        if read is not None:
            items.append((init.name, read))
            clear_data(init)
            continue
        if source is None:
            source = onnx.TensorProto()
            source.CopyFrom(init)
        items.append((init.name, _reader(source)))
        clear_data(init)
    return graph_only, items


def _reader(tensor):
    def read():
        from onnx import numpy_helper

        try:
            return numpy_helper.to_array(tensor)
        except Exception as exc:
            raise BadTensor("initializer '%s' cannot be read: %s: %s" % (tensor.name, type(exc).__name__, exc))

    return read


def clear_data(init):
    """Keep only an initializer's name, type and dims (in place)."""
    dims, dtype, name = list(init.dims), init.data_type, init.name
    init.Clear()
    init.name, init.data_type = name, dtype
    init.dims.extend(dims)


def model_of(graph):
    """A new ModelProto from graph bytes, or a copy of a ModelProto."""
    import onnx

    model = onnx.ModelProto()
    if isinstance(graph, (bytes, bytearray)):
        model.ParseFromString(bytes(graph))
    else:
        model.CopyFrom(graph)
    return model


class BadTensor(ValueError):
    """An initializer whose data does not make an array (unknown data type, too little data)."""


def join(graph, weights):
    """A full ModelProto from graph bytes (or a ModelProto) and the weights mapping."""
    from onnx import numpy_helper

    model = model_of(graph)
    for init in model.graph.initializer:
        if init.name not in weights:
            raise KeyError(init.name)
        arr = np.asarray(weights[init.name])
        check_weight(init, arr)
        filled = numpy_helper.from_array(arr, init.name)
        init.CopyFrom(filled)
    return model


# float, uint8, int8, uint16, int16, int32, int64, bool, float16, double, uint32, uint64: types numpy
# holds as they are (others, such as bfloat16 or 4-bit ints, are not compared)
_PLAIN_TYPES = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13)


class WeightsMismatch(ValueError):
    """A weights array that does not fit the graph's initializer (shape or dtype)."""


def check_weight(init, arr):
    """Raise WeightsMismatch when `arr` does not fit initializer `init` (shape, and dtype for the
    types numpy holds as they are)."""
    from onnx import helper

    try:
        dtype = helper.np_dtype_to_tensor_dtype(arr.dtype)
    except Exception:
        dtype = None
    if tuple(init.dims) != tuple(arr.shape) or (init.data_type in _PLAIN_TYPES and dtype != init.data_type):
        raise WeightsMismatch(
            "initializer '%s' is %s %s in the graph; the weights hold %s %s"
            % (init.name, _type_name(init.data_type), list(init.dims), arr.dtype.name, list(arr.shape))
        )


def _type_name(data_type):
    from onnx import TensorProto

    try:
        return TensorProto.DataType.Name(data_type).lower()
    except ValueError:
        return "type %d" % data_type


def opset_problem(model):
    """What is wrong with a model's opset imports that the ONNX checker lets through (a domain
    imported twice, at two versions: tools disagree on which one the graph is at), or ""."""
    seen = {}  # type: dict
    for imp in model.opset_import:
        domain = "" if imp.domain == "ai.onnx" else imp.domain
        if domain in seen:
            return "the model imports the %s domain twice, at opsets %d and %d" % (
                "'%s'" % domain if domain else "default (ai.onnx)",
                seen[domain],
                imp.version,
            )
        seen[domain] = imp.version
    return ""


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


def value_dtypes(model):
    """{value name: numpy dtype} for inputs, outputs, value_info and initializers of the graph."""
    from onnx import helper

    to_np = getattr(helper, "tensor_dtype_to_np_dtype", None)
    if to_np is None:  # onnx before 1.13 (CNTK's CPython 3.6), where onnx.mapping holds the table
        import importlib

        table = importlib.import_module("onnx.mapping").TENSOR_TYPE_TO_NP_TYPE

        def to_np(elem):
            return table[elem]

    out = {}
    g = model.graph
    typed = [(vi.name, vi.type.tensor_type.elem_type) for vi in list(g.input) + list(g.output) + list(g.value_info)]
    for name, elem in typed + [(i.name, i.data_type) for i in g.initializer]:
        try:
            out[name] = np.dtype(to_np(elem))
        except (KeyError, TypeError, ValueError):
            pass
    return out


def graph_inputs(model):
    """Graph inputs that are not initializers."""
    inits = set(i.name for i in model.graph.initializer)
    return [i for i in model.graph.input if i.name not in inits]


def non_text_field(message, where=""):
    """(field path, raw bytes) of the first string field of a parsed protobuf message that is not
    UTF-8 text, or None. protobuf parses ONNX's proto2 strings without checking them and hands back
    bytes where they are not text, which every later step (checker, shape inference, converters)
    trips over."""
    for field, value in message.ListFields():
        name = "%s.%s" % (where, field.name) if where else field.name
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        items = list(value) if repeated else [value]
        for i, item in enumerate(items):
            path = "%s[%d]" % (name, i) if repeated else name
            if field.type == field.TYPE_MESSAGE:
                found = non_text_field(item, path)
                if found:
                    return found
            elif field.type == field.TYPE_STRING and isinstance(item, bytes):
                return path, item
    return None


def all_tensors(graph):
    """Every TensorProto of a graph: initializers, sparse initializers, tensor attributes, subgraphs."""
    for init in graph.initializer:
        yield init
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            for tensor in attr.tensors:
                yield tensor
            if attr.HasField("g"):
                for tensor in all_tensors(attr.g):
                    yield tensor
            for sub in attr.graphs:
                for tensor in all_tensors(sub):
                    yield tensor


EXTERNAL_DATA_HINTS = {
    "unsafe-model": "keep the model's external data files in its folder (no links, no paths out of it)",
    "missing-file": "copy the external data files the model names into its folder",
    "not-a-file": "the external data must be files in the model's folder",
    "corrupt-model": "the external data file is truncated or damaged; copy or export the model again",
}


def external_data_problem(model, base_dir):
    """(reference, message) for the first tensor whose external data is not a regular file inside
    `base_dir` with the bytes it claims, or None. Checked before onnx reads anything: older onnx
    releases follow any path, newer ones refuse with a message that does not say why it matters."""
    import os

    base = os.path.realpath(base_dir or ".")
    for tensor in all_tensors(model.graph):
        if tensor.data_location != 1:  # TensorProto.EXTERNAL
            continue
        info = dict((e.key, e.value) for e in tensor.external_data)
        loc = info.get("location", "")
        what = "tensor '%s'" % tensor.name
        if not loc:
            return "corrupt-model", "%s is stored outside the file but names no data file" % what
        full = os.path.join(base, loc)
        if os.path.isabs(loc) or not os.path.realpath(full).startswith(base + os.sep) or os.path.islink(full):
            return "unsafe-model", "%s reads its data from '%s', which is %s the model's folder %s; it was not read" % (
                what,
                loc,
                "a link, not a file in" if os.path.islink(full) else "outside",
                base,
            )
        if not os.path.exists(full):
            return "missing-file", "%s reads its data from '%s', which does not exist in %s" % (what, loc, base)
        if not os.path.isfile(full):
            return "not-a-file", "%s reads its data from '%s', which is a folder" % (what, loc)
        try:
            offset, length = int(info.get("offset") or 0), int(info.get("length") or 0)
        except ValueError:
            return "corrupt-model", "%s has an offset or length that is not a number: %s" % (what, info)
        size = os.path.getsize(full)
        if offset < 0 or length < 0 or offset + length > size:
            return "corrupt-model", "%s reads bytes %d..%d of '%s', which holds %d bytes" % (
                what,
                offset,
                offset + length,
                loc,
                size,
            )
    return None


def free_batch_inputs(model):
    """The inputs whose batch the graph had free before its sizes were fixed for a target."""
    import json

    for p in model.metadata_props:
        if p.key == FREE_BATCH_KEY:
            try:
                return set(json.loads(p.value))
            except ValueError:
                return set()
    return set()

"""ONNX models inside runners: load, bring to the IR (opset, shapes, outputs, weights split), save,
and run with onnxruntime. Used by every runner whose framework converts through ONNX."""

import os

import numpy as np

from . import ir, onnx_wire
from .errors import RunnerError
from .loading import check_inputs, corrupt, named_inputs, require_file
from .rpc import pb
from .tensors import atomic_write, load_npz, save_npz_items, to_proto

TWO_GB = 2**31 - 1


def load_model(path, load_external=True):
    """Load an .onnx file (with external data beside it), or IR graph .pb + weights .npz."""
    import onnx

    require_file(path)
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:
        raise corrupt(path, exc, "ONNX model")
    return _checked(model, path, load_external)


def load_lazy(path, load_external=True):
    """(model, {initializer name: onnx_wire.Located}): an .onnx file read without its graph's large
    raw data, which stays in the file for memory-mapped arrays (held once, by the page cache, and
    only while used); a file the wire scanner cannot walk is loaded whole by load_model, whose
    errors name what is wrong."""
    import onnx

    require_file(path)
    try:
        slim, located = onnx_wire.scan(path)
        model = onnx.ModelProto()
        model.ParseFromString(slim)
    except Exception:
        return load_model(path, load_external), {}
    return _checked(model, path, load_external), {loc.name: loc for loc in located}


def _checked(model, path, load_external):
    import onnx

    problem = ir.external_data_problem(model, os.path.dirname(os.path.abspath(path)))
    if problem:
        raise RunnerError(problem[0], problem[1], file=path, hint=ir.EXTERNAL_DATA_HINTS[problem[0]])
    if load_external:
        try:
            onnx.external_data_helper.load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
        except Exception as exc:
            raise corrupt(path, exc, "ONNX model's external data")
    found = ir.non_text_field(model)
    if found:
        raise RunnerError(
            "corrupt-model",
            "%s is not UTF-8 text: %r" % (found[0], found[1][:60]),
            file=path,
            hint="the file is damaged; copy or export it again",
        )
    return model


def in_place_data(model, located, path):
    """`model` (from load_lazy) with its located initializers marked as external data of the file
    `path` itself, at their offsets, for onnxruntime to map (run_onnxruntime with folder= the
    file's folder): onnxruntime then holds the weights once, in the page cache, instead of a copy
    of the model's bytes and a copy of every tensor."""
    import onnx

    name = os.path.basename(path)
    for init in model.graph.initializer:
        loc = located.get(init.name)
        if loc is None:
            continue
        init.data_location = onnx.TensorProto.EXTERNAL
        del init.external_data[:]
        length = int(np.prod(loc.shape, dtype=np.int64)) * loc.dtype.itemsize
        for key, value in (("location", name), ("offset", str(loc.offset)), ("length", str(length))):
            entry = init.external_data.add()
            entry.key, entry.value = key, value
    return model


def load_any(files):
    """A full ModelProto from [model.onnx] or [graph.pb, weights.npz]."""
    onnx_files = [f for f in files if f.endswith(".onnx")]
    if onnx_files:
        return load_model(onnx_files[0]), onnx_files[0]
    graph = [f for f in files if f.endswith(".pb")]
    weights = [f for f in files if f.endswith(".npz")]
    if graph:
        model = load_model(graph[0])
        w = load_npz(require_file(weights[0], "weights file")) if weights else {}
        try:
            return ir.join(model, w), graph[0]
        except (KeyError, ir.WeightsMismatch) as exc:
            raise RunnerError(
                "weights-mismatch",
                "no weights for initializer %s" % exc if isinstance(exc, KeyError) else str(exc),
                file=graph[0],
                hint="give the .npz written beside the graph",
            )
    raise RunnerError("missing-file", "no .onnx (or IR .pb + .npz) among %s" % list(files), hint="pass an .onnx file")


def load_for_onnxruntime(files):
    """(model, path, folder) for run_onnxruntime: an .onnx file's large weights are left in the file
    for onnxruntime to map from `folder` (in_place_data); an IR .pb + .npz is joined (folder None)."""
    onnx_files = [f for f in files if f.endswith(".onnx")]
    if not onnx_files:
        model, path = load_any(files)
        return model, path, None
    path = os.path.abspath(onnx_files[0])
    real = os.path.realpath(path)  # onnxruntime resolves links: the data is where the file is
    model, located = load_lazy(path, load_external=False)
    if real != path and any(t.data_location == 1 for t in ir.all_tensors(model.graph)):  # EXTERNAL
        return load_model(path), onnx_files[0], None  # a link whose data files are beside it, not beside its file
    return in_place_data(model, located, real), onnx_files[0], os.path.dirname(real)


def to_ir_opset(model, path):
    from onnx import version_converter

    opset = ir.opset_of(model)
    if opset == ir.IR_OPSET:
        return ir.set_ir_version(model)
    try:
        return ir.set_ir_version(version_converter.convert_version(model, ir.IR_OPSET))
    except Exception as exc:
        bad = first_line(exc)
        raise RunnerError(
            "unsupported-opset",
            "cannot convert from opset %d to the IR opset %d: %s" % (opset, ir.IR_OPSET, bad),
            file=path,
            opset=opset,
            hint="export the model at opset %d, or simplify it with onnxsim first" % ir.IR_OPSET,
        )


def first_line(exc):
    """The exception's text on one line (onnx's checker spreads a node's name over several), cut short."""
    text = " ".join(str(exc).split())
    return (text[:400] + " ...") if len(text) > 400 else text or type(exc).__name__


def set_input_shapes(model, specs, path=""):
    """Apply --inputShape: InputSpec(name or empty, shape) to the graph inputs, in order."""
    inputs = ir.graph_inputs(model)
    for i, spec in enumerate(specs):
        target = None
        for vi in inputs:
            if vi.name == spec.name:
                target = vi
        if target is None and not spec.name and i < len(inputs):
            target = inputs[i]
        if target is None:
            raise RunnerError(
                "unknown-node",
                "the model has no input '%s' (inputs: %s)" % (spec.name, [v.name for v in inputs]),
                file=path,
                hint="name one of the model's inputs",
            )
        if not spec.shape:
            continue
        tensor_type = target.type.tensor_type
        dims = tensor_type.shape.dim
        given = list(spec.shape)
        declared = len(dims) if tensor_type.HasField("shape") else 0
        if declared and len(given) == declared - 1:
            given = [1] + given  # MMdnn's form, without the batch
        elif declared and len(given) != declared:
            raise RunnerError(
                "bad-shape",
                "input '%s' has %d dimensions %s; --inputShape gave %d: %s"
                % (target.name, declared, [d.dim_value or d.dim_param or "?" for d in dims], len(given), given),
                file=path,
                hint="give all %d dimensions (batch included), or all but the batch" % declared,
            )
        del dims[:]
        for d in given:
            dim = dims.add()
            if d > 0:
                dim.dim_value = int(d)
            else:
                dim.dim_param = "?"


def input_signature(model):
    out = []
    for vi in ir.graph_inputs(model):
        t = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim] if t.HasField("shape") else None
        out.append((vi.name, shape))
    return out


def expose_all_values(model):
    """Add every node output as a graph output (in place); return the names added."""
    import onnx

    existing = {o.name for o in model.graph.output}
    known = {vi.name: vi for vi in model.graph.value_info}
    added = []
    for node in model.graph.node:
        for out in node.output:
            if out and out not in existing:
                vi = known.get(out)
                model.graph.output.append(vi if vi is not None else onnx.ValueInfoProto(name=out))
                existing.add(out)
                added.append(out)
    return added


HELD_BYTES = 1 << 16  # initializers larger than this are held out of the graph while it is checked


def slim_model(model):
    """(a copy of `model` whose large initializers have names, types and dims but no data, {name:
    the original initializer}). The checker, the version converter and shape inference then work on
    the graph instead of serializing every weight, several times over (three quarters of parsing a
    ResNet-50), and the weights are not copied: they are read from `model`, which is not changed."""
    import onnx

    slim = onnx.ModelProto()
    _copy_fields(model, slim, "graph")
    _copy_fields(model.graph, slim.graph, "initializer")
    held = {}
    for init in model.graph.initializer:
        kept = slim.graph.initializer.add()
        if init.ByteSize() <= HELD_BYTES or init.data_location == onnx.TensorProto.EXTERNAL:
            kept.CopyFrom(init)
            continue
        kept.name, kept.data_type = init.name, init.data_type
        kept.dims.extend(init.dims)
        held[init.name] = init
    return slim, held


def _copy_fields(src, dst, skip):
    """Copy every field of message `src` into `dst` but the one named `skip`."""
    for field, value in src.ListFields():
        if field.name == skip:
            continue
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        if repeated:
            getattr(dst, field.name).extend(value)
        elif field.type == field.TYPE_MESSAGE:
            getattr(dst, field.name).CopyFrom(value)
        else:
            setattr(dst, field.name, value)


def for_checker(model, held):
    """A copy the ONNX checker takes: the held initializers as empty tensors (it checks data
    against dims; the data itself is checked when it is turned into arrays)."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for init in copy.graph.initializer:
        if init.name in held:
            del init.dims[:]
            init.dims.append(0)
    return copy


def with_inferred_outputs(model):
    """The model with shapes inferred where it leaves them out (the checker wants output shapes)."""
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception:
        return model


def cut_outputs(model, outputs, path):
    import onnx

    produced = {o for n in model.graph.node for o in n.output}
    missing = [o for o in outputs if o not in produced]
    if missing:
        candidates = [o.name for o in model.graph.output] + sorted(produced)[:30]
        raise RunnerError(
            "unknown-node",
            "no value named %s in the graph" % missing,
            file=path,
            hint="output candidates: %s" % ", ".join(candidates[:30]),
        )
    inputs = [i.name for i in ir.graph_inputs(model)]
    return onnx.utils.Extractor(model).extract_model(inputs, outputs)


def save_onnx(model, path):
    import onnx

    big = model.ByteSize() >= TWO_GB if hasattr(model, "ByteSize") else False

    def write(tmp):
        if big:
            onnx.save_model(
                model,
                tmp,
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=os.path.basename(path) + ".data",
            )
        else:
            onnx.save_model(model, tmp)

    atomic_write(path, write)


def set_metadata(model, meta):
    """Add `meta` ({key: text}) to the model's metadata_props."""
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v


def ir_request(request, workspace, input_shapes):
    """A copy of a ParseRequest with its workspace set and inputs [(name, shape)] as parsed."""
    req = pb.ParseRequest()
    req.CopyFrom(request)
    req.workspace = workspace
    del req.inputs[:]
    for name, shape in input_shapes:
        req.inputs.add(name=name, shape=shape)
    return req


def to_ir(model, request, path, name=None, strict_shapes=False, located=None):
    """A parsed ONNX model -> ParseResponse: checked, input shapes applied, at the IR opset, shapes
    inferred, cut at the requested outputs, weights written to the workspace as .npz. With
    `strict_shapes` (a model from the user, not from a converter), shapes or types that contradict
    each other (a weight of the wrong size, a float64 bias on a float32 layer) are refused here.
    `located` ({name: onnx_wire.Located}, from load_lazy) gives the data of initializers `model`
    holds without it."""
    import onnx

    model, held = slim_model(model)
    held.update(located or {})
    try:
        problem = ir.opset_problem(model)
        if problem:
            raise ValueError(problem)
        onnx.checker.check_model(for_checker(with_inferred_outputs(model), held))
    except Exception as exc:
        raise RunnerError(
            "invalid-model",
            "the ONNX checker rejects this model: %s" % first_line(exc),
            file=path,
            hint="repair or re-export the model",
        )
    set_input_shapes(model, request.inputs, path)
    model = to_ir_opset(model, path)
    if strict_shapes:
        check_shapes_agree(model, path)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:
        raise RunnerError(
            "bad-shape",
            "shape inference failed: %s" % first_line(exc),
            file=path,
            hint="give the input shapes with --inputShape",
        )
    check_gemm_bias(model, path)
    if request.outputs:
        model = cut_outputs(model, list(request.outputs), path)
    name = name or os.path.splitext(os.path.basename(path.rstrip("/")))[0]
    try:
        graph, weights = ir.split_lazy(model, held)
        wpath = save_npz_items(os.path.join(request.workspace, name + ".npz"), weights)
    except ir.BadTensor as exc:
        raise RunnerError("invalid-model", str(exc), file=path, hint="repair or re-export the model")
    # written into the broker's own workspace: no digest (reading the weights again costs more than the write)
    ref = pb.FileRef(path=os.path.abspath(wpath), role="weights", size=os.path.getsize(wpath))
    return pb.ParseResponse(graph=graph.SerializeToString(), weights=ref)


def _static_dims(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def check_gemm_bias(model, path):
    """ONNX's shape inference does not look at Gemm's C, which must broadcast one way to the (M, N)
    product; a bias of the wrong length would otherwise reach an emitter as a numpy error."""
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    for vi in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = _static_dims(vi)
        if dims is not None:
            shapes.setdefault(vi.name, dims)
    for node in model.graph.node:
        if node.op_type != "Gemm" or len(node.input) < 3 or not node.input[2] or not node.output:
            continue
        c, out = shapes.get(node.input[2]), shapes.get(node.output[0])
        if c is None or out is None or len(c) > 2:
            continue
        fits = all(cd in (1, None) or od in (None, cd) for cd, od in zip(reversed(c), reversed(out)))
        if not fits:
            raise RunnerError(
                "weights-mismatch",
                "the bias '%s' has shape %s, which does not broadcast to the product's shape %s"
                % (node.input[2], c, out),
                file=path,
                node=node.name or node.output[0],
                op="Gemm",
                hint="repair or re-export the model (a weight of the wrong size)",
            )


def check_shapes_agree(model, path):
    """ONNX's strict shape inference finds inputs of a node whose shapes or types contradict each
    other; other failures of strict inference (an op it cannot infer) are left to the lenient pass."""
    import onnx

    try:
        onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        text = first_line(exc)
        if "ShapeInferenceError" in text or "TypeInferenceError" in text:
            raise RunnerError(
                "invalid-model",
                "the model's shapes or types do not fit together: %s" % text,
                file=path,
                hint="repair or re-export the model (a weight of the wrong size or type)",
            )


def ir_model(graph_bytes, weights_path):
    """The full ONNX model of an Emit request's IR graph and weights."""
    import onnx

    weights = load_npz(weights_path) if weights_path else {}
    try:
        model = ir.join(graph_bytes, weights)
    except (KeyError, ir.WeightsMismatch) as exc:
        raise RunnerError(
            "weights-mismatch",
            "the IR weights have no tensor %s" % exc if isinstance(exc, KeyError) else str(exc),
            file=weights_path,
        )
    refuse_data_files(model, weights_path)
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:
        raise RunnerError(
            "invalid-model",
            "the IR graph is not valid ONNX: %s" % first_line(exc),
            hint="check it with `mmbroker ir check`; if mmbroker wrote it, this is a bug: report it with the model",
        )
    return model


def refuse_data_files(model, weights_path):
    """Refuse an IR graph with a tensor that names a data file: its initializers' values come from
    the weights .npz; any other tensor (a Constant node's value, a sparse initializer) would be read
    from wherever the runner runs."""
    import onnx

    for tensor in ir.all_tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise RunnerError(
                "unsafe-model",
                "tensor '%s' of the IR graph reads its data from a file; IR values live in the weights .npz"
                % tensor.name,
                file=weights_path,
                hint="write the IR with `mmbroker toir`, which keeps every weight in the .npz",
            )


def write_ir_onnx(graph_bytes, weights_path, path):
    """Write the .onnx of an Emit request's IR graph and weights: the bytes ir_model and save_onnx
    write, streamed one weight at a time (onnx_wire.write_model) rather than holding the weights
    as arrays, as a ModelProto and as its serialized bytes at once. A model of 2 GB or more (external
    data) or with weights of types numpy does not hold as they are goes through ir_model."""
    import onnx

    model = ir.model_of(graph_bytes)
    protos = []
    for init in model.graph.initializer:
        proto = onnx.TensorProto()
        proto.CopyFrom(init)
        ir.clear_data(proto)
        protos.append(proto)
    sizes = [onnx_wire.raw_size(p) for p in protos]
    if None in sizes or model.ByteSize() + sum(sizes) + 64 * len(sizes) >= TWO_GB:
        save_onnx(ir_model(graph_bytes, weights_path), path)
        return
    model.graph.ClearField("initializer")  # written from the .npz
    refuse_data_files(model, weights_path)
    try:
        onnx.checker.check_model(for_checker(model_with(model, protos), {p.name for p in protos}), full_check=False)
    except Exception as exc:
        raise RunnerError(
            "invalid-model",
            "the IR graph is not valid ONNX: %s" % first_line(exc),
            hint="check it with `mmbroker ir check`; if mmbroker wrote it, this is a bug: report it with the model",
        )
    data = load_npz(weights_path) if weights_path else {}  # large weights memory-mapped, not read
    for proto in protos:
        if proto.name not in data:
            raise RunnerError("weights-mismatch", "the IR weights have no tensor '%s'" % proto.name, file=weights_path)

    def reader(proto):
        def read():
            array = data.pop(proto.name)  # let go once written
            try:
                ir.check_weight(proto, array)
            except ir.WeightsMismatch as exc:
                raise RunnerError("weights-mismatch", str(exc), file=weights_path)
            return array

        return read

    def write(tmp):
        with open(tmp, "wb") as out:
            onnx_wire.write_model(out, model, [(p, reader(p)) for p in protos])

    atomic_write(path, write)


def model_with(model, initializers):
    """A copy of `model` whose graph holds these initializers."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.graph.initializer.extend(initializers)
    return copy


def run_onnxruntime(model, request, path, engine_note="", folder=None):
    """Infer with onnxruntime; with request.intermediates, every node output keyed by its IR name.
    `folder`: where the model's external data is (load_for_onnxruntime)."""
    import onnxruntime as ort

    signature = input_signature(model)
    feeds = named_inputs(request.inputs, [n for n, _ in signature])
    check_inputs(signature, feeds, file=path)
    output_names = [o.name for o in model.graph.output]
    extra = expose_all_values(model) if request.intermediates else []
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if request.intermediates:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if folder:
        opts.add_session_config_entry("session.model_external_initializers_file_folder_path", folder)
    try:
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise RunnerError(
            "infer-failed",
            "onnxruntime cannot load the model: %s" % first_line(exc),
            file=path,
            hint="check the model with: mmbroker ir info " + path,
        )
    names = output_names + extra
    try:
        values = sess.run(names, feeds)
    except Exception as exc:
        raise RunnerError("infer-failed", "onnxruntime failed: %s" % first_line(exc), file=path)
    ws = request.workspace or None
    outs = [to_proto(n, v, ws) for n, v in zip(output_names, values)]
    inter = [to_proto(n, v, ws) for n, v in zip(names[len(output_names) :], values[len(output_names) :])]
    engine = "onnxruntime " + ort.__version__ + (" (%s)" % engine_note if engine_note else "")
    return pb.InferResponse(outputs=outs, intermediates=inter, engine=engine)

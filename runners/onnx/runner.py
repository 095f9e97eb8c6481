"""Parse, emit, save and run ONNX models."""

import os
import shutil

import numpy as np

from runners.common import ir, rpc
from runners.common.errors import RunnerError
from runners.common.loading import check_inputs, corrupt, named_inputs, require_file
from runners.common.rpc import pb
from runners.common.server import RunnerBase
from runners.common.tensors import atomic_write, file_ref, load_npz, save_npz, to_proto

TWO_GB = 2**31 - 1


def load_model(path):
    """Load an .onnx file (with external data beside it), or IR graph .pb + weights .npz."""
    import onnx

    require_file(path)
    try:
        return onnx.load(path)
    except Exception as exc:
        raise corrupt(path, exc, "ONNX model")


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
        except KeyError as exc:
            raise RunnerError(
                "missing-weight",
                "no weights for initializer %s" % exc,
                file=graph[0],
                hint="give the .npz written beside the graph",
            )
    raise RunnerError("missing-file", "no .onnx (or IR .pb + .npz) among %s" % list(files), hint="pass an .onnx file")


def to_ir_opset(model, path):
    from onnx import version_converter

    opset = ir.opset_of(model)
    if opset == ir.IR_OPSET:
        return model
    try:
        return version_converter.convert_version(model, ir.IR_OPSET)
    except Exception as exc:
        bad = _first_line(exc)
        raise RunnerError(
            "opset-conversion-failed",
            "cannot convert from opset %d to the IR opset %d: %s" % (opset, ir.IR_OPSET, bad),
            file=path,
            opset=opset,
            hint="export the model at opset %d, or simplify it with onnxsim first" % ir.IR_OPSET,
        )


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def set_input_shapes(model, specs):
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
                "bad-input",
                "the model has no input '%s' (inputs: %s)" % (spec.name, [v.name for v in inputs]),
                hint="name one of the model's inputs",
            )
        if not spec.shape:
            continue
        dims = target.type.tensor_type.shape.dim
        del dims[:]
        for d in spec.shape:
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


class OnnxRunner(RunnerBase):
    framework = "onnx"

    def describe(self):
        import onnx
        import onnxruntime

        return pb.DescribeResponse(
            protocol_version=rpc.PROTOCOL_VERSION,
            framework=self.framework,
            versions={"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
            reads=["onnx"],
            writes=["onnx"],
            min_opset=7,
            max_opset=ir.IR_OPSET,
            capabilities=["parse", "emit", "save", "infer", "intermediates"],
            emit_ops=sorted(self._ort_ops()),
            python="%d.%d.%d" % tuple(__import__("sys").version_info[:3]),
        )

    @staticmethod
    def _ort_ops():
        import onnx.defs

        return {s.name for s in onnx.defs.get_all_schemas() if s.domain in ("", "ai.onnx")}

    # -- parse -----------------------------------------------------------------------------
    def parse(self, request):
        import onnx

        if not request.sources:
            raise RunnerError("missing-file", "no model file given", hint="pass an .onnx file")
        path = request.sources[0]
        model = load_model(path)
        try:
            onnx.checker.check_model(_with_inferred_outputs(model))
        except Exception as exc:
            raise RunnerError(
                "invalid-model",
                "the ONNX checker rejects this model: %s" % _first_line(exc),
                file=path,
                hint="repair or re-export the model",
            )
        set_input_shapes(model, request.inputs)
        model = to_ir_opset(model, path)
        try:
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as exc:
            raise RunnerError(
                "shape-inference-failed",
                "shape inference failed: %s" % _first_line(exc),
                file=path,
                hint="give the input shapes with --inputShape",
            )
        if request.outputs:
            model = _cut_outputs(model, list(request.outputs), path)
        graph, weights = ir.split(model)
        name = os.path.splitext(os.path.basename(path))[0]
        wpath = save_npz(os.path.join(request.workspace, name + ".npz"), weights)
        return pb.ParseResponse(graph=graph.SerializeToString(), weights=file_ref(wpath, "weights"))

    # -- emit ------------------------------------------------------------------------------
    def emit(self, request):
        import onnx

        model = self._ir_model(request.graph, request.weights.path)
        name = request.name or "model"
        os.makedirs(request.out_dir, exist_ok=True)
        path = os.path.join(request.out_dir, name + ".onnx")
        _save_onnx(model, path)
        text_path = os.path.join(request.out_dir, name + ".onnx.txt")
        graph_only, _ = ir.split(model)
        atomic_write(text_path, lambda tmp: open(tmp, "w").write(onnx.printer.to_text(graph_only.graph)))
        return pb.EmitResponse(files=[file_ref(path, "model"), file_ref(text_path, "code")])

    def _ir_model(self, graph_bytes, weights_path):
        import onnx

        weights = load_npz(weights_path) if weights_path else {}
        model = ir.join(graph_bytes, weights)
        try:
            onnx.checker.check_model(model, full_check=False)
        except Exception as exc:
            raise RunnerError(
                "invalid-ir",
                "the IR graph is not valid ONNX: %s" % _first_line(exc),
                hint="this is a bug in the runner that parsed the model",
            )
        return model

    # -- save ------------------------------------------------------------------------------
    def save(self, request):
        src = [f.path for f in request.emitted if f.path.endswith(".onnx")]
        if not src:
            raise RunnerError("missing-file", "nothing to save: no .onnx among the emitted files")
        out = request.output
        if not out.endswith(".onnx"):
            raise RunnerError(
                "unknown-format",
                "the ONNX runner writes .onnx files, not %s" % out,
                file=out,
                hint="name the output model with an .onnx extension",
            )
        if os.path.abspath(src[0]) != os.path.abspath(out):
            if os.path.getsize(src[0]) < TWO_GB:
                atomic_write(out, lambda tmp: shutil.copyfile(src[0], tmp))
            else:
                _save_onnx(load_model(src[0]), out)
        return pb.SaveResponse(files=[file_ref(out, "model")])

    # -- infer -----------------------------------------------------------------------------
    def infer(self, request):
        import onnxruntime as ort

        model, path = load_any(list(request.model))
        signature = input_signature(model)
        feeds = named_inputs(request.inputs, [n for n, _ in signature])
        check_inputs(signature, feeds, file=path)
        output_names = [o.name for o in model.graph.output]
        extra = []
        if request.intermediates:
            extra = _expose_all_values(model)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if request.intermediates:
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise RunnerError(
                "runtime-load-failed",
                "onnxruntime cannot load the model: %s" % _first_line(exc),
                file=path,
                hint="check the model with: mmbroker ir info " + path,
            )
        names = output_names + extra
        try:
            values = sess.run(names, feeds)
        except Exception as exc:
            raise RunnerError("runtime-failed", "onnxruntime failed: %s" % _first_line(exc), file=path)
        ws = request.workspace or None
        outs = [to_proto(n, v, ws) for n, v in zip(output_names, values)]
        inter = [to_proto(n, v, ws) for n, v in zip(names[len(output_names) :], values[len(output_names) :])]
        return pb.InferResponse(outputs=outs, intermediates=inter, engine="onnxruntime " + ort.__version__)


def _expose_all_values(model):
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


def _with_inferred_outputs(model):
    """The model with shapes inferred where it leaves them out (the checker wants output shapes)."""
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception:
        return model


def _cut_outputs(model, outputs, path):
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


def _save_onnx(model, path):
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

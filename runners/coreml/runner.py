"""CoreMLRunner: Describe / Parse / Emit / Save / Infer for NeuralNetwork .mlmodel files and ML
Program .mlpackage packages (`mlprogram/`; Emit writes one when the target format is mlpackage).

Linux has no CoreML runtime (coremltools' MLModel.predict works on macOS only), so Infer there
translates the spec back to the IR (the same code as Parse) and runs it with onnxruntime; every
result says so in its engine string. On macOS Infer uses Apple's runtime through MLModel.predict.
"""

import os
import shutil
import sys

import numpy as np

from runners.common.errors import SAVE_HINT, RunnerError
from runners.common.loading import check_inputs, named_inputs, require_file
from runners.common.onnx_models import first_line, run_onnxruntime, to_ir
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import atomic_write, file_ref, link_or_copy, to_proto

from . import options as coreml_options
from .emit import LACKS, build_spec, quiet_stdout, registry, save_spec
from .mlprogram import build as program_build
from .mlprogram import read as program_read
from .parse import load_spec, spec_to_onnx

READS = ["mlmodel", "mlpackage"]
WRITES = ["mlmodel", "mlpackage"]
INTERPRETATION = "CoreML spec interpretation, not Apple's runtime"
PROGRAM_INTERPRETATION = "CoreML ML Program interpretation, not Apple's runtime"


def _mlmodels(files):
    found = [f for f in files if f.endswith(".mlmodel") or f.endswith(".mlpackage")]
    if not found:
        raise RunnerError(
            "missing-file",
            "no .mlmodel or .mlpackage among %s" % [os.path.basename(f) for f in files],
            hint="pass a CoreML .mlmodel file or .mlpackage folder",
        )
    return found[0]


def _as_input_dtypes(model, feeds, path):
    """Integer and bool feeds in the dtype of the program's integer inputs (an ML Program takes int32
    where the source had int64 token ids or bool masks): values outside int32 are refused, not
    wrapped."""
    from onnx import helper

    out = dict(feeds)
    for vi in model.graph.input:
        a = out.get(vi.name)
        if a is None or a.dtype.kind not in "iub":
            continue
        want = np.dtype(helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type))
        if want == a.dtype or want.kind not in "iu":
            continue
        info = np.iinfo(want)
        if a.dtype.kind != "b" and a.size and (a.min() < info.min or a.max() > info.max):
            raise RunnerError(
                "bad-input",
                "input '%s' holds values outside %s (%d..%d), the dtype this ML Program takes"
                % (vi.name, want.name, a.min(), a.max()),
                file=path,
                hint="give values that fit in %s" % want.name,
            )
        out[vi.name] = a.astype(want)
    return out


def _by_name_or_order(feeds, names):
    """Inputs named as the IR named them still reach a model whose inputs were renamed
    (--inputNames): when no name matches and the counts agree, they are taken in order."""
    if len(feeds) == len(names) and not set(feeds) & set(names):
        return dict(zip(names, feeds.values()))
    return feeds


class CoreMLRunner(RunnerBase):
    framework = "coreml"

    def describe(self):
        with quiet_stdout():
            import coremltools
            import onnx
            import onnxruntime

            from .parse import registry as parse_registry

            layers = parse_registry().ops()
            program_ops = program_read.registry().ops()
        versions = {
            "coremltools": coremltools.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
            "engine": "CoreML (MLModel.predict)" if sys.platform == "darwin" else INTERPRETATION,
            "parsed_layers": ",".join(layers),
            "parsed_mil_ops": ",".join(program_ops),
        }
        return describe_response(
            self.framework,
            versions,
            READS,
            WRITES,
            registry().ops(),
            LACKS,
            formats=[("mlpackage", program_build.registry().ops(), program_build.LACKS)],
        )

    # ---- Parse ------------------------------------------------------------------------------
    def parse(self, req):
        if not req.sources:
            raise RunnerError("missing-file", "no model file given", hint="pass an .mlmodel file")
        path = _mlmodels([os.path.abspath(s) for s in req.sources])
        with quiet_stdout():
            if program_read.is_mlpackage(path):
                spec, prog = program_read.load_program(path)
                model = program_read.program_to_onnx(spec, prog, path)
            else:
                spec = load_spec(path)
                model = spec_to_onnx(spec, path)
        if not req.workspace:
            req.workspace = self.inbox()
        os.makedirs(req.workspace, exist_ok=True)
        return to_ir(model, req, path)

    # ---- Emit -------------------------------------------------------------------------------
    def emit(self, req):
        if not req.weights.path:
            raise RunnerError("missing-file", "no weights file given")
        require_file(req.weights.path, "weights file")
        out_dir = req.out_dir or self.inbox()
        name = req.name or "model"
        if req.options.get("format", "").lower() == "mlpackage":
            return self._emit_program(req, out_dir, name)
        path = os.path.join(out_dir, name + ".mlmodel")
        with quiet_stdout():
            spec = build_spec(req.graph, req.weights.path, path)
            coreml_options.apply(spec, req.options, path)
        save_spec(spec, path)
        text = os.path.join(out_dir, name + ".mlmodel.txt")
        atomic_write(text, lambda tmp: open(tmp, "w").write(describe_spec(spec)))
        return pb.EmitResponse(files=[file_ref(path, "model"), file_ref(text, "code")])

    def _emit_program(self, req, out_dir, name):
        path = os.path.join(out_dir, name + ".mlpackage")
        if any(k in req.options for k in coreml_options.KNOWN):
            raise RunnerError(
                "bad-option",
                "the CoreML options (%s) apply to NeuralNetwork .mlmodel files"
                % ", ".join(sorted(k for k in req.options if k in coreml_options.KNOWN)),
                file=path,
                hint="write an .mlmodel, or leave the options out",
            )
        with quiet_stdout():
            program_build.save_mlpackage(req.graph, req.weights.path, path)
            spec, prog = program_read.load_program(path)
        text = os.path.join(out_dir, name + ".mlpackage.txt")
        atomic_write(text, lambda tmp: open(tmp, "w").write(str(prog)))
        return pb.EmitResponse(files=[file_ref(path, "model"), file_ref(text, "code")])

    # ---- Save -------------------------------------------------------------------------------
    def save(self, req):
        out = os.path.abspath(req.output)
        fmt = (req.format or os.path.splitext(out)[1].lstrip(".")).lower()
        if fmt == "mlpackage":
            return self._save_program(req, out)
        src = [f.path for f in req.emitted if f.path.endswith(".mlmodel")]
        if not src:
            raise RunnerError("missing-file", "nothing to save: no .mlmodel among the emitted files", hint=SAVE_HINT)
        if fmt != "mlmodel":
            raise RunnerError(
                "unsupported-format",
                "the CoreML runner writes .mlmodel files and .mlpackage packages, not '%s'" % fmt,
                file=out,
                hint="name the output model with an .mlmodel or .mlpackage extension",
            )
        given = {k: v for k, v in req.options.items() if k in coreml_options.KNOWN}
        if given:
            with quiet_stdout():
                spec = load_spec(src[0])
                coreml_options.apply(spec, given, out)
            save_spec(spec, out)
        elif os.path.abspath(src[0]) != out:
            atomic_write(out, lambda tmp: link_or_copy(src[0], tmp))
        return pb.SaveResponse(files=[file_ref(out, "model")])

    def _save_program(self, req, out):
        src = [f.path for f in req.emitted if f.path.rstrip("/").endswith(".mlpackage")]
        if not src:
            raise RunnerError(
                "missing-file",
                "nothing to save as .mlpackage: the emitted files hold no ML Program",
                file=out,
                hint="emit with the target format mlpackage (mmbroker convert ... -om model.mlpackage)",
            )
        if os.path.abspath(src[0]) != out:
            tmp = "%s.tmp-%d" % (out, os.getpid())
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src[0], tmp)
            if os.path.exists(out):
                shutil.rmtree(out)
            os.rename(tmp, out)
        return pb.SaveResponse(files=[file_ref(out, "model")])

    # ---- Infer ------------------------------------------------------------------------------
    def infer(self, req):
        path = _mlmodels([os.path.abspath(p) for p in req.model])
        if program_read.is_mlpackage(path):
            return self._infer_program(req, path)
        with quiet_stdout():
            spec = load_spec(path)
        if sys.platform == "darwin" and not req.intermediates:
            return self._infer_apple(spec, req, path)
        names = [f.name for f in spec.description.input]
        feeds = _by_name_or_order(named_inputs(req.inputs, names), names)
        shapes = {n: list(a.shape) for n, a in feeds.items()}
        with quiet_stdout():
            model = spec_to_onnx(spec, path, input_shapes=shapes)
        return run_onnxruntime(model, req, path, engine_note=INTERPRETATION)

    def _infer_program(self, req, path):
        with quiet_stdout():
            spec, prog = program_read.load_program(path)
            model = program_read.program_to_onnx(spec, prog, path)
        names = [i.name for i in model.graph.input]
        feeds = _as_input_dtypes(model, _by_name_or_order(named_inputs(req.inputs, names), names), path)
        if sys.platform == "darwin" and not req.intermediates:
            import coremltools as ct

            mil_names = [f.name for f in spec.description.input]
            try:
                result = ct.models.MLModel(path).predict(dict(zip(mil_names, feeds.values())))
            except Exception as exc:
                raise RunnerError("infer-failed", "CoreML failed: %s" % first_line(exc), file=path)
            outs = [
                to_proto(f.name, np.asarray(result[f.name]), req.workspace or None) for f in spec.description.output
            ]
            return pb.InferResponse(outputs=outs, engine="CoreML %s (Apple's runtime)" % ct.__version__)
        with quiet_stdout():
            model = program_read.program_to_onnx(spec, prog, path, {n: list(a.shape) for n, a in feeds.items()})
        renamed = pb.InferRequest()
        renamed.CopyFrom(req)
        del renamed.inputs[:]
        renamed.inputs.extend(to_proto(n, a, req.workspace or None) for n, a in feeds.items())
        return run_onnxruntime(model, renamed, path, engine_note=PROGRAM_INTERPRETATION)

    def _infer_apple(self, spec, req, path):
        """macOS: Apple's runtime. Inputs are [N, C, H, W] / [N, F] IR tensors; CoreML takes (C, H, W)."""
        import coremltools as ct

        names = [f.name for f in spec.description.input]
        feeds = _by_name_or_order(named_inputs(req.inputs, names), names)
        check_inputs([(n, None) for n in names], feeds, file=path)
        try:
            model = ct.models.MLModel(path)
            results = [
                model.predict({n: a[i] for n, a in feeds.items()}) for i in range(len(next(iter(feeds.values()))))
            ]
        except Exception as exc:
            raise RunnerError("infer-failed", "CoreML failed: %s" % first_line(exc), file=path)
        outs = []
        for f in spec.description.output:
            if f.type.WhichOneof("Type") != "multiArrayType":
                continue
            value = np.stack([np.asarray(r[f.name], np.float32) for r in results])
            outs.append(to_proto(f.name, value, req.workspace or None))
        return pb.InferResponse(outputs=outs, engine="CoreML %s (Apple's runtime)" % ct.__version__)


def describe_spec(spec):
    """A readable listing of the spec: features, preprocessing, one line per layer."""
    lines = ["CoreML %s, specification version %d" % (spec.WhichOneof("Type"), spec.specificationVersion), ""]
    for what, features in (("input", spec.description.input), ("output", spec.description.output)):
        for f in features:
            lines.append("%s %s: %s" % (what, f.name, str(f.type).replace("\n", " ").strip()))
    net = getattr(spec, spec.WhichOneof("Type"))
    for p in getattr(net, "preprocessing", []):
        lines.append("preprocessing %s: %s" % (p.featureName, str(p).replace("\n", " ").strip()))
    lines.append("")
    for layer in net.layers:
        lines.append(
            "%-12s %-32s %s -> %s"
            % (layer.WhichOneof("layer"), layer.name, ", ".join(layer.input), ", ".join(layer.output))
        )
    return "\n".join(lines) + "\n"

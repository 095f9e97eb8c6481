"""Parse, emit, save and run ONNX models."""

import os

import numpy as np

from runners.common import ir
from runners.common.errors import SAVE_HINT, RunnerError
from runners.common.onnx_models import (
    TWO_GB,
    load_for_onnxruntime,
    load_lazy,
    load_model,
    run_onnxruntime,
    save_onnx,
    to_ir,
    write_ir_onnx,
)
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import atomic_write, file_ref, link_or_copy


class OnnxRunner(RunnerBase):
    framework = "onnx"

    def describe(self):
        import onnx
        import onnxruntime

        return describe_response(
            self.framework,
            {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
            ["onnx"],
            ["onnx"],
            self._onnx_ops(),
            min_opset=7,
        )

    @staticmethod
    def _onnx_ops():
        """The ONNX ops defined at the IR opset: the IR is written as it is, so an op of a later
        opset (Gelu, Attention) cannot be in the file (broker/ir/fuse.py fuses into those only for
        targets that declare them)."""
        import onnx.defs

        return {s.name for s in onnx.defs.get_all_schemas_with_history()
                if s.domain in ("", "ai.onnx") and s.since_version <= ir.IR_OPSET}  # fmt: skip

    def parse(self, request):
        if not request.sources:
            raise RunnerError("missing-file", "no model file given", hint="pass an .onnx file")
        path = request.sources[0]
        model, located = load_lazy(path)
        return to_ir(model, request, path, strict_shapes=True, located=located)

    def emit(self, request):
        import onnx

        name = request.name or "model"
        os.makedirs(request.out_dir, exist_ok=True)
        path = os.path.join(request.out_dir, name + ".onnx")
        write_ir_onnx(request.graph, request.weights.path, path)
        text_path = os.path.join(request.out_dir, name + ".onnx.txt")
        graph_only = ir.model_of(request.graph)
        for init in graph_only.graph.initializer:
            ir.clear_data(init)
        atomic_write(text_path, lambda tmp: open(tmp, "w").write(onnx.printer.to_text(graph_only.graph)))
        return pb.EmitResponse(files=[file_ref(path, "model"), file_ref(text_path, "code")])

    def save(self, request):
        src = [f.path for f in request.emitted if f.path.endswith(".onnx")]
        if not src:
            raise RunnerError("missing-file", "nothing to save: no .onnx among the emitted files", hint=SAVE_HINT)
        out = request.output
        if not out.endswith(".onnx"):
            raise RunnerError(
                "unsupported-format",
                "the ONNX runner writes .onnx files, not %s" % out,
                file=out,
                hint="name the output model with an .onnx extension",
            )
        if os.path.abspath(src[0]) != os.path.abspath(out):
            if os.path.getsize(src[0]) < TWO_GB:
                atomic_write(out, lambda tmp: link_or_copy(src[0], tmp))
            else:
                save_onnx(load_model(src[0]), out)
        return pb.SaveResponse(files=[file_ref(out, "model")])

    def infer(self, request):
        model, path, folder = load_for_onnxruntime(list(request.model))
        return run_onnxruntime(model, request, path, folder=folder)

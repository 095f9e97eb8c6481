"""CNTKRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import file_ref

READS = ["model", "dnn"]
WRITES = ["model"]


class CNTKRunner(RunnerBase):
    framework = "cntk"

    def describe(self):
        import cntk
        import onnx

        from .emit import LACKS, registry

        versions = {"cntk": cntk.__version__, "onnx": onnx.__version__, "numpy": np.__version__}
        return describe_response(self.framework, versions, READS, WRITES, registry().ops(), LACKS)

    def parse(self, request):
        from .parse import parse

        if not request.sources:
            raise RunnerError("missing-file", "no model file given", hint="pass -in model.model")
        return parse(request, request.workspace or self.inbox())

    def infer(self, request):
        from .infer import run

        return run(request)

    def emit(self, request):
        from .emit import emit

        weights = self.emit_weights(request)
        py, npz, warnings = emit(request.graph, weights, request.out_dir or self.inbox(), request.name or "model")
        return pb.EmitResponse(files=[file_ref(py, "code"), file_ref(npz, "weights")], warnings=warnings)

    def save(self, request):
        from .save import save

        code, weights = self.emitted(request, ".npz", "weights")
        fmt = (request.format or "").lower()
        if fmt and fmt not in WRITES:
            raise RunnerError(
                "unsupported-format", "the cntk runner writes .model, not '%s'" % fmt, file=request.output
            )
        return pb.SaveResponse(files=[file_ref(save(code, weights, request.output), "model")])

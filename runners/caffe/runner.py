"""CaffeRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import numpy as np

from runners.common.errors import SAVE_HINT, RunnerError
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import file_ref

READS = ["prototxt", "caffemodel"]
WRITES = ["prototxt", "caffemodel"]


class CaffeRunner(RunnerBase):
    framework = "caffe"

    def describe(self):
        from importlib.metadata import version

        import google.protobuf
        import onnx

        from .emit import LACKS, registry

        versions = {
            "caffe": version("brocolli-caffe"),
            "protobuf": google.protobuf.__version__,
            "onnx": onnx.__version__,
            "numpy": np.__version__,
        }
        return describe_response(self.framework, versions, READS, WRITES, registry().ops(), LACKS)

    def parse(self, request):
        from .parse import parse

        if not request.sources:
            raise RunnerError(
                "missing-file", "no model files given", hint="pass -in deploy.prototxt -iw weights.caffemodel"
            )
        return parse(request, request.workspace or self.inbox())

    def infer(self, request):
        from .infer import run

        return run(request)

    def emit(self, request):
        from .emit import emit

        if not request.weights.path:
            raise RunnerError("missing-file", "no weights file given")
        net, weights, warnings = emit(
            request.graph, request.weights.path, request.out_dir or self.inbox(), request.name or "model"
        )
        return pb.EmitResponse(files=[file_ref(net, "code"), file_ref(weights, "weights")], warnings=warnings)

    def save(self, request):
        from .save import save

        nets = [f.path for f in request.emitted if f.path.endswith(".prototxt")]
        weights = [f.path for f in request.emitted if f.path.endswith(".caffemodel")]
        if len(nets) != 1 or len(weights) != 1:
            raise RunnerError("missing-file", "Save needs the emitted .prototxt and .caffemodel", hint=SAVE_HINT)
        fmt = (request.format or "").lower()
        if fmt and fmt not in WRITES:
            raise RunnerError(
                "unsupported-format",
                "the caffe runner writes .prototxt + .caffemodel, not '%s'" % fmt,
                file=request.output,
            )
        written = save(nets[0], weights[0], request.output)
        return pb.SaveResponse(files=[file_ref(written[0], "model"), file_ref(written[1], "weights")])

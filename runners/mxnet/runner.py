"""MXNetRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import os

import numpy as np

from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import file_ref

# MXNet's MKL-DNN subgraph backend fuses each Convolution with its BatchNorm and ReLU when a model is
# bound, keeping a second, fused copy of every convolution's weights: ResNet-50 (90 MB of weights)
# peaked at 401 MB at batch 3 with it, 289 MB without, binding and running once as fast. Unfused,
# the model runs as its symbol says (the fused outputs differ by about 1e-6 of their magnitude).
# Read at each bind; the user's setting wins.
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

READS = ["json", "params"]
WRITES = ["json", "params"]


class MXNetRunner(RunnerBase):
    framework = "mxnet"

    def describe(self):
        import mxnet
        import onnx

        from .emit import LACKS, registry

        return describe_response(
            self.framework,
            {"mxnet": mxnet.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
            READS,
            WRITES,
            registry().ops(),
            LACKS,
        )

    def parse(self, request):
        from .parse import parse

        if not request.sources:
            raise RunnerError(
                "missing-file", "no model files given", hint="pass -in model-symbol.json -iw model-0000.params"
            )
        return parse(request, request.workspace or self.inbox())

    def infer(self, request):
        from .infer import run

        return run(request)

    def emit(self, request):
        from .emit import emit

        weights = self.emit_weights(request)
        py, params, warnings = emit(request.graph, weights, request.out_dir or self.inbox(), request.name or "model")
        return pb.EmitResponse(files=[file_ref(py, "code"), file_ref(params, "params")], warnings=warnings)

    def save(self, request):
        from .save import save

        code, params = self.emitted(request, ".params", "params")
        fmt = (request.format or "").lower()
        if fmt and fmt not in WRITES + ["symbol"]:
            raise RunnerError(
                "unsupported-format",
                "the mxnet runner writes -symbol.json + -0000.params, not '%s'" % fmt,
                file=request.output,
            )
        symbol_path, weights_path = save(code, params, request.output)
        return pb.SaveResponse(files=[file_ref(symbol_path, "model"), file_ref(weights_path, "params")])

"""MXNetRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import sys

import numpy as np

from runners.common import ir, rpc
from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.server import RunnerBase

READS = ["json", "params"]
WRITES = ["json", "params"]


class MXNetRunner(RunnerBase):
    framework = "mxnet"

    def describe(self):
        import mxnet
        import onnx

        return pb.DescribeResponse(
            protocol_version=rpc.PROTOCOL_VERSION,
            framework=self.framework,
            versions={"mxnet": mxnet.__version__, "onnx": onnx.__version__, "numpy": np.__version__},
            reads=READS,
            writes=WRITES,
            min_opset=ir.IR_OPSET,
            max_opset=ir.IR_OPSET,
            capabilities=["parse", "emit", "save", "infer", "intermediates"],
            emit_ops=[],
            python=sys.version.split()[0],
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

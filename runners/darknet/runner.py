"""DarknetRunner: Describe / Parse / Infer for DarkNet (.cfg + .weights) and Torch7 (.t7) models.

A source-only runner: both formats are read into the IR by the runner's own code and run by
OpenCV's importers for the check; nothing is emitted or saved in these formats."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.server import RunnerBase, describe_response

READS = ["cfg", "weights", "t7"]


def _is_torch7(files):
    return any(f.lower().endswith((".t7", ".net")) for f in files)


class DarknetRunner(RunnerBase):
    framework = "darknet"

    def describe(self):
        import cv2
        import google.protobuf
        import onnx

        versions = {
            "opencv": cv2.__version__,
            "onnx": onnx.__version__,
            "protobuf": google.protobuf.__version__,
            "numpy": np.__version__,
        }
        return describe_response(
            self.framework, versions, READS, [], [], capabilities=["parse", "infer", "intermediates"]
        )

    def parse(self, request):
        if not request.sources:
            raise RunnerError(
                "missing-file", "no model files given", hint="pass -in yolov3.cfg -iw yolov3.weights, or -in net.t7"
            )
        workspace = request.workspace or self.inbox()
        if _is_torch7(request.sources):
            from .t7.parse import parse as parse_t7

            return parse_t7(request, workspace)
        from .parse import parse

        return parse(request, workspace)

    def infer(self, request):
        if _is_torch7(request.model):
            from .t7.infer import run as run_t7

            return run_t7(request)
        from .infer import run

        return run(request)

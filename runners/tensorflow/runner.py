"""TensorFlowRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import numpy as np

from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response
from runners.common.tensors import file_ref

READS = ["keras", "h5", "savedmodel", "meta", "pb", "tflite"]
WRITES = ["keras", "h5", "savedmodel", "tflite"]


class TensorFlowRunner(RunnerBase):
    framework = "tensorflow"

    def describe(self):
        import keras
        import onnx
        import tensorflow as tf
        import tf2onnx

        from .emit import LACKS, registry

        versions = {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "numpy": np.__version__,
        }
        try:
            import tf_keras

            versions["tf_keras"] = tf_keras.__version__
        except Exception:
            pass
        return describe_response(self.framework, versions, READS, WRITES, registry().ops(), LACKS)

    def parse(self, request):
        from .parse import parse

        return parse(request)

    def infer(self, request):
        from .infer import infer

        return infer(request)

    def emit(self, request):
        from runners.common.loading import require_file
        from runners.common.tensors import load_npz

        from .emit import emit

        weights = load_npz(require_file(request.weights.path, "IR weights (.npz)")) if request.weights.path else {}
        py, npz = emit(request.graph, weights, request.out_dir or self.inbox(), request.name or "model")
        return pb.EmitResponse(files=[file_ref(py, "code"), file_ref(npz, "weights")])

    def save(self, request):
        from .save import save

        return save(request)

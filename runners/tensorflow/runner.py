"""TensorFlowRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import sys

import numpy as np

from runners.common import ir, rpc
from runners.common.rpc import pb
from runners.common.server import RunnerBase
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

        from .emit import registry

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
        return pb.DescribeResponse(
            protocol_version=rpc.PROTOCOL_VERSION,
            framework=self.framework,
            versions=versions,
            reads=READS,
            writes=WRITES,
            min_opset=ir.IR_OPSET,
            max_opset=ir.IR_OPSET,
            capabilities=["parse", "emit", "save", "infer", "intermediates"],
            emit_ops=registry().ops(),
            python=sys.version.split()[0],
        )

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

"""The CoreML runner: NeuralNetwork .mlmodel files in and out."""

import sys

from runners.common.server import serve

from .runner import CoreMLRunner

sys.exit(serve(CoreMLRunner))

"""The TensorFlow/Keras runner process."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ logging goes to stderr; keep it short
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from runners.common.server import serve  # noqa: E402

from .runner import TensorFlowRunner  # noqa: E402

sys.exit(serve(TensorFlowRunner))

"""One onnxruntime load-and-run of an ONNX file on seeded random input of its input shapes (free
dimensions 1): the floor a conversion with a check is compared with.

    python ort_run.py MODEL.onnx
"""

import sys

import numpy as np
import onnxruntime as ort

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
         for i in session.get_inputs()}  # fmt: skip
session.run(None, feeds)

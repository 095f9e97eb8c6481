"""The peer chain's first half for MXNet: mxnet.onnx exports a checkpoint to ONNX (its default opset).

python mxnet_to_onnx.py SYMBOL.json PARAMS 1,3,224,224 OUT.onnx
"""

import sys

import numpy as np
from mxnet import onnx as mx_onnx

symbol, params, shape, out = sys.argv[1:5]
dims = tuple(int(d) for d in shape.split(","))
mx_onnx.export_model(symbol, params, [dims], [np.float32], out)

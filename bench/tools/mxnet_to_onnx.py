"""The peer chain's first half for MXNet: mxnet.onnx exports a checkpoint to ONNX at opset 13
(`export_model` of MXNet 1.9.1 writes the newest opset the installed onnx knows, 22 here, which
onnx2torch does not read; its graph builder takes the opset).

    python mxnet_to_onnx.py SYMBOL.json PARAMS 1,3,224,224 OUT.onnx
"""

import sys

import mxnet as mx
import onnx
from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph

symbol_file, params_file, shape, out = sys.argv[1:5]
symbol = mx.sym.load(symbol_file)
params = {k.split(":", 1)[-1]: v for k, v in mx.nd.load(params_file).items()}
dims = tuple(int(d) for d in shape.split(","))
graph = MXNetGraph().create_onnx_graph_proto(symbol, params, [dims], [onnx.TensorProto.FLOAT], opset_version=13)
onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), out)

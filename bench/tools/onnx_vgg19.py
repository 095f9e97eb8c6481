"""VGG-19 as the ONNX model zoo has it (vgg19-7: 16 3x3 convolutions with ReLU, 5 max pools, three
fully connected layers with ReLU and Dropout; every weight also listed as a graph input, as IR-3
files do) with seeded random weights (He scaling, so the outputs vary): 143.7 M parameters,
575 MB. Nothing is downloaded. Runs where onnx and numpy are.

    python onnx_vgg19.py OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONVS = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def main(out):
    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def weight(name, shape, fan_in):
        arr = (rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))).astype(np.float32)
        inits.append(numpy_helper.from_array(arr, name))
        return name

    x, channels, k = "data", 3, 0
    for item in CONVS:
        k += 1
        if item == "M":
            nodes.append(helper.make_node("MaxPool", [x], ["pool%d" % k], kernel_shape=[2, 2], strides=[2, 2]))
            x = "pool%d" % k
            continue
        w = weight("conv%d_w" % k, (item, channels, 3, 3), channels * 9)
        b = weight("conv%d_b" % k, (item,), channels * 9)
        nodes.append(helper.make_node("Conv", [x, w, b], ["conv%d" % k], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", ["conv%d" % k], ["relu%d" % k]))
        x, channels = "relu%d" % k, item
    nodes.append(helper.make_node("Flatten", [x], ["flat"]))
    x, features = "flat", 512 * 7 * 7
    for i, width in enumerate([4096, 4096, 1000]):
        w = weight("fc%d_w" % i, (width, features), features)
        b = weight("fc%d_b" % i, (width,), features)
        nodes.append(helper.make_node("Gemm", [x, w, b], ["fc%d" % i], transB=1))
        x, features = "fc%d" % i, width
        if i < 2:
            nodes.append(helper.make_node("Relu", [x], ["fc%d_relu" % i]))
            nodes.append(helper.make_node("Dropout", ["fc%d_relu" % i], ["fc%d_drop" % i]))
            x = "fc%d_drop" % i
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 224, 224])]
    inputs += [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in inits]
    graph = helper.make_graph(nodes, "vgg19", inputs, [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 1000])],
                              inits)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=7)
    onnx.save(model, out)


if __name__ == "__main__":
    main(sys.argv[1])

"""Gluon model-zoo networks exported to ONNX by MXNet's own exporter (mx.onnx), the way MXNet users
hand models to ONNX tools. Seeded weights, BatchNorm statistics randomised. Run inside the MXNet
runner's environment:

    <mxnet env python> tests/corpus/mxnet_onnx_export.py OUT_DIR
writes OUT_DIR/mxnet_<name>.onnx.
"""

import os
import sys

import mxnet as mx
import numpy as np

MODELS = {"resnet18_v1": (1, 3, 64, 64), "mobilenetv2_0.25": (1, 3, 64, 64), "squeezenet1.1": (1, 3, 224, 224)}


def export(name, shape, out_dir):
    mx.random.seed(0)
    np.random.seed(0)
    net = mx.gluon.model_zoo.vision.get_model(name, pretrained=False)
    net.initialize(mx.init.Xavier(magnitude=2.0))
    net.hybridize()
    net(mx.nd.zeros(shape))
    rng = np.random.default_rng(0)
    for key, p in sorted(net.collect_params().items()):
        if key.endswith(("running_var", "gamma")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif key.endswith(("running_mean", "beta")):
            p.set_data(mx.nd.array(rng.normal(0, 0.1, p.shape)))
    prefix = os.path.join(out_dir, "mxnet_" + name)
    net.export(prefix)
    out = prefix + ".onnx"
    mx.onnx.export_model(prefix + "-symbol.json", prefix + "-0000.params", [shape], [np.float32], out)
    for suffix in ("-symbol.json", "-0000.params"):
        os.remove(prefix + suffix)
    return out


if __name__ == "__main__":
    for name, shape in MODELS.items():
        print(export(name, shape, sys.argv[1]))

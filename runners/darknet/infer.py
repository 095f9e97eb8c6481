"""Run a DarkNet .cfg + .weights with OpenCV's importer (`cv2.dnn.readNetFromDarknet`): the
reference a DarkNet conversion is checked against, an implementation this project did not write.

OpenCV names its layers after DarkNet's layer index (`conv_12`, `bn_12`, `pool_13`, `yolo_16`;
an activation takes the index of the layer after its own, `leaky_13` for layer 12). Each OpenCV
layer is given to the DarkNet layer it belongs to; the last one of layer i is the IR value
`layer_i`, the inner ones `layer_i/conv`, `layer_i/bn`, ... as the parser names them
(parse.py). Which values are the outputs is decided by the parser itself, run on the cfg with
placeholder weights, so Parse and Infer cannot disagree.
"""

import numpy as np

from runners.common.rpc import pb

from . import cfg as cfgmod
from . import opencv_run
from .parse import INPUT, convert, split_sources, start_option, value_name
from .weights import seen_bits

ACTIVATIONS = ("leaky", "relu", "swish", "mish", "logistic")
INNER = {"conv": "conv", "bn": "bn", "fullyConnected": "fc", "shortcut": "sum"}


class Placeholder(object):
    """Stands for the .weights when only the graph's structure is wanted: zeros, nothing checked."""

    def take(self, count, section, what):
        return np.broadcast_to(np.float32(0), (int(count),))

    def finish(self, last):
        return None


def ir_names(layer_names):
    """{OpenCV layer name: IR value name} for the layers of one readNetFromDarknet net."""
    owner, prev = [], -1
    for name in layer_names:
        prefix, _, number = name.rpartition("_")
        index = (int(number) - (1 if prefix in ACTIVATIONS else 0)) if number.isdigit() else prev
        owner.append((name, prefix if number.isdigit() else name, index))
        prev = index
    last = {}
    for name, _, index in owner:
        last[index] = name
    out = {}
    for name, prefix, index in owner:
        if last[index] == name:
            out[name] = value_name(index)
        elif prefix in INNER:
            out[name] = "%s/%s" % (value_name(index), INNER[prefix])
    return out


def _model_bytes(path, start):
    """The .weights bytes for OpenCV, the header's version made to agree with --darknetStart."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if start is None or len(data) < 12:
        return data
    major, minor = (int(v) for v in np.frombuffer(bytes(data[:8]), dtype="<i4"))
    if seen_bits(major, minor) != (64 if start == 1 else 32):
        data[:8] = np.array([0, 2 if start == 1 else 1], dtype="<i4").tobytes()
    return data


def load_net(cfg_path, weights_path, start):
    import cv2

    with open(cfg_path, "rb") as f:
        text = f.read().decode("utf-8")
    cfg_bytes = np.frombuffer(cfgmod.for_opencv(text).encode("utf-8"), dtype=np.uint8)
    model = np.frombuffer(bytes(_model_bytes(weights_path, start)), dtype=np.uint8)
    return opencv_run.load(lambda: cv2.dnn.readNetFromDarknet(cfg_bytes, model), cfg_path, "DarkNet")


def run(request):
    cfg_path, weights_path = split_sources(list(request.model))
    options = dict(request.options)
    start = start_option(options, weights_path)
    cfg = cfgmod.read(cfg_path)
    x = opencv_run.single_input(request, cfg_path)
    spec = pb.InputSpec(name=INPUT, shape=list(x.shape))
    ctx, outputs = convert(cfg, Placeholder(), [spec], options)
    net = load_net(cfg_path, weights_path, start)
    to_ir = ir_names(list(net.getLayerNames()))
    return opencv_run.run(net, x, to_ir, outputs, request, cfg_path, "readNetFromDarknet")

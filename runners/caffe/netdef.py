"""Reading Caffe nets: .prototxt (text) and .caffemodel (binary) NetParameters, legacy V1 `layers`
brought to the `layer` format, layers filtered by phase, inputs found, weights matched by layer."""

import os

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file

from .proto import caffe_pb2

NET_SUFFIXES = (".prototxt", ".pbtxt", ".txt")
WEIGHT_SUFFIXES = (".caffemodel", ".binaryproto")

# V1LayerParameter.LayerType names whose new-format type is not the CamelCase of the enum name.
V1_TYPES = {
    "ABSVAL": "AbsVal", "BNLL": "BNLL", "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output", "IM2COL": "Im2col",
    "INNER_PRODUCT": "InnerProduct", "LRN": "LRN", "MVN": "MVN", "RELU": "ReLU", "SOFTMAX_LOSS": "SoftmaxWithLoss",
    "TANH": "TanH", "ARGMAX": "ArgMax", "DUMMY_DATA": "DummyData", "MEMORY_DATA": "MemoryData",
    "IMAGE_DATA": "ImageData", "WINDOW_DATA": "WindowData", "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
    "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "INFOGAIN_LOSS": "InfogainLoss",
}  # fmt: skip


class Net(object):
    """A filtered net: `layers` (LayerParameter), `inputs` [(blob, shape or None)], `weights`
    {layer name: [BlobProto]}, and the files they came from."""

    def __init__(self, layers, inputs, weights, net_path, weights_path, name):
        self.layers = layers
        self.inputs = inputs
        self.weights = weights
        self.net_path = net_path
        self.weights_path = weights_path
        self.name = name


def split_sources(sources):
    nets = [s for s in sources if s.lower().endswith(NET_SUFFIXES)]
    weights = [s for s in sources if s.lower().endswith(WEIGHT_SUFFIXES)]
    other = [s for s in sources if s not in nets and s not in weights]
    if other and not nets:
        nets, other = other[:1], other[1:]
    if any(s.lower().endswith(".h5") for s in other):
        raise RunnerError(
            "unsupported-format",
            "HDF5 Caffe weights are not read; give the binary .caffemodel",
            file=other[0],
            hint="save the weights with net.save('x.caffemodel') in Caffe",
        )
    if len(nets) != 1 or len(weights) > 1 or other:
        raise RunnerError(
            "missing-file",
            "expected one .prototxt and at most one .caffemodel, got %s" % list(sources),
            hint="pass -in deploy.prototxt -iw weights.caffemodel",
        )
    return nets[0], (weights[0] if weights else "")


def read_text_net(path):
    from google.protobuf import text_format

    require_file(path, "Caffe .prototxt")
    pb2 = caffe_pb2()
    net = pb2.NetParameter()
    try:
        with open(path, "r") as f:
            text_format.Merge(f.read(), net)
    except text_format.ParseError as exc:
        line, column = exc.GetLine(), exc.GetColumn()
        message = str(exc)
        prefix = "%s:%s : " % (line, column)
        if message.startswith(prefix):
            message = message[len(prefix) :]
        raise RunnerError(
            "corrupt-model",
            "syntax error at line %s, column %s: %s" % (line, column, message),
            file=path,
            hint="fix the .prototxt at that place (it is protobuf text format of caffe.NetParameter)",
        )
    except UnicodeDecodeError as exc:
        raise corrupt(path, exc, "Caffe .prototxt")
    return net


def read_binary_net(path):
    require_file(path, "Caffe .caffemodel")
    pb2 = caffe_pb2()
    net = pb2.NetParameter()
    with open(path, "rb") as f:
        data = f.read()
    try:
        net.ParseFromString(data)
    except Exception as exc:
        raise RunnerError(
            "corrupt-model",
            "cannot read this .caffemodel (%d bytes): %s" % (len(data), str(exc).strip() or type(exc).__name__),
            file=path,
            hint="the file is truncated or not a binary caffe.NetParameter; copy or save it again",
        )
    return net


def v1_type_name(enum_name):
    if enum_name in V1_TYPES:
        return V1_TYPES[enum_name]
    return "".join(w.capitalize() for w in enum_name.split("_"))


def upgrade_v1(net):
    """Legacy `layers` (V1LayerParameter) -> `layer` (LayerParameter), in place."""
    if not len(net.layers):
        return net
    pb2 = caffe_pb2()
    enum = pb2.V1LayerParameter.LayerType
    new_fields = set(f.name for f in pb2.LayerParameter.DESCRIPTOR.fields)
    for old in net.layers:
        layer = net.layer.add()
        layer.name = old.name
        layer.type = v1_type_name(enum.Name(old.type))
        layer.bottom.extend(old.bottom)
        layer.top.extend(old.top)
        layer.blobs.extend(old.blobs)
        layer.include.extend(old.include)
        layer.exclude.extend(old.exclude)
        layer.loss_weight.extend(old.loss_weight)
        for field, value in old.ListFields():
            if field.name.endswith("_param") and field.name in new_fields:
                getattr(layer, field.name).CopyFrom(value)
    del net.layers[:]
    return net


def phase_of(options):
    pb2 = caffe_pb2()
    text = (options.get("caffePhase") or "TEST").strip().upper()
    if text in ("TEST", "1"):
        return pb2.TEST
    if text in ("TRAIN", "0"):
        return pb2.TRAIN
    raise RunnerError("bad-option", "--caffePhase must be TRAIN or TEST, not %r" % text, hint="use --caffePhase TEST")


def rule_met(rule, phase):
    """Caffe's Net::StateMeetsRule for a state with `phase`, level 0 and no stages."""
    if rule.HasField("phase") and rule.phase != phase:
        return False
    if rule.HasField("min_level") and 0 < rule.min_level:
        return False
    if rule.HasField("max_level") and 0 > rule.max_level:
        return False
    return not len(rule.stage)


def included(layer, phase):
    if len(layer.include):
        return any(rule_met(r, phase) for r in layer.include)
    return not any(rule_met(r, phase) for r in layer.exclude)


def shape_of(blob_shape):
    return [int(d) for d in blob_shape.dim]


def find_inputs(net):
    """[(blob, shape or None)] from input/input_shape/input_dim and Input layers."""
    inputs = []
    dims = list(net.input_dim)
    for i, name in enumerate(net.input):
        if i < len(net.input_shape):
            shape = shape_of(net.input_shape[i])
        elif len(dims) >= 4 * (i + 1):
            shape = [int(d) for d in dims[4 * i : 4 * i + 4]]
        else:
            shape = None
        inputs.append((name, shape))
    for layer in net.layer:
        if layer.type == "Input":
            shapes = [shape_of(s) for s in layer.input_param.shape]
            for i, top in enumerate(layer.top):
                inputs.append((top, shapes[i] if i < len(shapes) else (shapes[0] if len(shapes) == 1 else None)))
    return inputs


def blob_array(blob):
    """A BlobProto's values and its shape as stored (legacy num/channels/height/width too)."""
    if len(blob.shape.dim):
        shape = shape_of(blob.shape)
    elif blob.HasField("num") or blob.HasField("channels") or blob.HasField("height") or blob.HasField("width"):
        shape = [blob.num, blob.channels, blob.height, blob.width]
    else:
        shape = [len(blob.data) or len(blob.double_data)]
    data = np.asarray(blob.double_data if len(blob.double_data) else blob.data, dtype=np.float32)
    return data, shape


def load(sources, options):
    net_path, weights_path = split_sources(list(sources))
    net = upgrade_v1(read_text_net(net_path))
    phase = phase_of(options)
    layers = [layer for layer in net.layer if included(layer, phase)]
    weights = {}
    if weights_path:
        trained = upgrade_v1(read_binary_net(weights_path))
        for layer in trained.layer:
            if len(layer.blobs):
                weights[layer.name] = list(layer.blobs)
    inputs = find_inputs(net)
    layers = [layer for layer in layers if layer.type != "Input"]
    name = net.name or os.path.splitext(os.path.basename(net_path))[0]
    return Net(layers, inputs, weights, net_path, weights_path, name)

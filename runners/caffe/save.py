"""Emitted .prototxt + .caffemodel -> the output pair `<prefix>.prototxt` + `<prefix>.caffemodel`,
read back and checked with caffe_pb2 before they are written (atomically, both or neither)."""

import os

from .emit import write_pair
from .netdef import read_binary_net, read_text_net


def prefix_of(output):
    out = os.path.abspath(output)
    for suffix in (".prototxt", ".caffemodel"):
        if out.endswith(suffix):
            return out[: -len(suffix)]
    return out


def save(net_path, weights_path, output):
    read_text_net(net_path)
    net = read_binary_net(weights_path)
    prefix = prefix_of(output)
    out_net, out_weights = prefix + ".prototxt", prefix + ".caffemodel"
    write_pair(net, out_net, out_weights)
    return out_net, out_weights

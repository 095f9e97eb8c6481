"""Seeded random weights for Caffe nets, set and saved by real Caffe (run with the Caffe
environment's python): python caffe_weights.py OUT_DIR NET.prototxt... -> OUT_DIR/<stem>.caffemodel
and OUT_DIR/caffe_weights.json ([{name, prototxt, caffemodel, shape}])."""

import json
import os
import sys
import zlib

import numpy as np


def fill(net, rng):
    for name, blobs in net.params.items():
        kind = net.layer_dict[name].type
        if kind == "BatchNorm":
            c = blobs[0].data.shape[0]
            factor = 2.0  # stored statistics are sums scaled by this moving-average factor
            blobs[0].data[...] = rng.standard_normal(c) * 0.2 * factor
            blobs[1].data[...] = rng.uniform(0.5, 1.5, c) * factor
            blobs[2].data[...] = factor
            continue
        for i, blob in enumerate(blobs):
            shape = blob.data.shape
            if kind in ("Scale", "PReLU") and i == 0:
                blob.data[...] = rng.uniform(0.2, 1.2, shape)
            elif i == 0 and len(shape) >= 2:
                fan_in = int(np.prod(shape[1:]))
                blob.data[...] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            else:
                blob.data[...] = rng.standard_normal(shape) * 0.1


def to_v1(path):
    """Rewrite a .caffemodel in the legacy V1 format: `layers` with enum types, blobs with
    num/channels/height/width."""
    from caffe.proto import caffe_pb2

    net = caffe_pb2.NetParameter()
    with open(path, "rb") as f:
        net.ParseFromString(f.read())
    v1 = caffe_pb2.NetParameter(name=net.name)
    enum = {"Convolution": "CONVOLUTION", "InnerProduct": "INNER_PRODUCT"}
    for layer in net.layer:
        if not layer.blobs:
            continue
        old = v1.layers.add(name=layer.name, type=caffe_pb2.V1LayerParameter.LayerType.Value(enum[layer.type]))
        for blob in layer.blobs:
            dims = [1] * (4 - len(blob.shape.dim)) + list(blob.shape.dim)
            old.blobs.add(num=dims[0], channels=dims[1], height=dims[2], width=dims[3], data=blob.data)
    with open(path, "wb") as f:
        f.write(v1.SerializeToString())


def main(out_dir, nets):
    import caffe

    caffe.set_mode_cpu()
    entries = []
    for path in nets:
        stem = os.path.splitext(os.path.basename(path))[0]
        net = caffe.Net(path, caffe.TEST)
        fill(net, np.random.default_rng(zlib.crc32(stem.encode())))
        weights = os.path.join(out_dir, stem + ".caffemodel")
        net.save(weights)
        if stem.startswith("legacy_v1"):
            to_v1(weights)
        shape = list(net.blobs[net.inputs[0]].data.shape)
        entries.append({"name": stem, "prototxt": os.path.abspath(path), "caffemodel": weights, "shape": shape})
    with open(os.path.join(out_dir, "caffe_weights.json"), "w") as f:
        json.dump(entries, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

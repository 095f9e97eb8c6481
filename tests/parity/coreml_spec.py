"""Dump what a saved .mlmodel holds, read with coremltools' own spec classes.

Run inside the CoreML runner's environment (the test process has no coremltools):
    <coreml env python> tests/parity/coreml_spec.py MODEL.mlmodel OUT_PREFIX
writes OUT_PREFIX.json (features, preprocessing, layers with their parameters) and OUT_PREFIX.npz
(every layer's weights exactly as stored, keyed "<layer name>|<field>").
"""

import json
import sys

import numpy as np
from coremltools.proto import Model_pb2
from google.protobuf import json_format


def main(path, prefix):
    spec = Model_pb2.Model()
    with open(path, "rb") as f:
        spec.ParseFromString(f.read())
    kind = spec.WhichOneof("Type")
    net = getattr(spec, kind)
    arrays, layers = {}, []
    for layer in net.layers:
        which = layer.WhichOneof("layer")
        params = getattr(layer, which)
        info = {"name": layer.name, "type": which, "inputs": list(layer.input), "outputs": list(layer.output)}
        for field, value in params.ListFields():
            if field.message_type is not None and field.message_type.name == "WeightParams":
                arrays["%s|%s" % (layer.name, field.name)] = np.asarray(value.floatValue, np.float32)
        info["params"] = json_format.MessageToDict(params)
        for k in list(info["params"]):
            if isinstance(info["params"][k], dict) and "floatValue" in info["params"][k]:
                del info["params"][k]
        layers.append(info)
    desc = json_format.MessageToDict(spec.description)
    out = {
        "type": kind,
        "specificationVersion": spec.specificationVersion,
        "description": desc,
        "preprocessing": [json_format.MessageToDict(p) for p in getattr(net, "preprocessing", [])],
        "layers": layers,
    }
    if kind == "neuralNetworkClassifier":
        out["classLabels"] = list(net.stringClassLabels.vector)
    with open(prefix + ".json", "w") as f:
        json.dump(out, f, indent=1)
    np.savez(prefix + ".npz", **arrays)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

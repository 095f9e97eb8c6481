"""Run a Caffe net with pycaffe: `python -m runners.caffe.forward JOB_DIR`, a child of the runner.

JOB_DIR holds job.json (prototxt, caffemodel, phase, input names) and inputs.npz; results go to
outputs.npz as value_<i> arrays with names.json listing (kind, name) in that order. A Caffe CHECK
failure aborts this process only; the runner reads glog's message from its stderr.
"""

import json
import os
import sys

import numpy as np

# brocolli-caffe's io.cpp reads binary protos up to 512 MiB (BVLC Caffe: 2 GiB), which a VGG-16/19
# .caffemodel (550-575 MB) passes: larger weights are read by caffe_pb2 and copied into the net by
# layer name, blob by blob, as Caffe's CopyTrainedLayersFrom does.
CAFFE_READ_LIMIT = 536870912


def main(job_dir):
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    import caffe

    caffe.set_mode_cpu()
    phase = caffe.TRAIN if job["phase"] == "TRAIN" else caffe.TEST
    if job["weights"] and os.path.getsize(job["weights"]) <= CAFFE_READ_LIMIT:
        net = caffe.Net(job["net"], phase, weights=job["weights"])
    else:
        net = caffe.Net(job["net"], phase)
        if job["weights"]:
            copy_trained_layers(net, job["weights"])
    with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as data:
        feeds = [data["input_%d" % i] for i in range(len(data.files))]
    names = list(net.inputs)
    with open(os.path.join(job_dir, "inputs.json"), "w") as f:
        json.dump(names, f)
    given = job["inputs"] or names
    if sorted(given) != sorted(names) or len(feeds) != len(names):
        sys.stderr.write("MMBROKER-BAD-INPUT the net takes inputs %s; given %s\n" % (names, given))
        return 3
    for name, value in zip(given, feeds):
        net.blobs[name].reshape(*value.shape)
        net.blobs[name].data[...] = value
    net.forward()
    order = [("output", n) for n in net.outputs]
    if job["intermediates"]:
        order += [("intermediate", n) for n in net.blobs if n not in net.outputs and n not in names]
    arrays = dict(("value_%d" % i, np.array(net.blobs[n].data, dtype=np.float32)) for i, (_, n) in enumerate(order))
    np.savez(os.path.join(job_dir, "outputs.npz"), **arrays)
    with open(os.path.join(job_dir, "names.json"), "w") as f:
        json.dump(order, f)
    return 0


def copy_trained_layers(net, weights_path):
    """The blobs of the .caffemodel's layers into the net's layers of the same name (shapes checked,
    a legacy 4-D blob matching without its leading ones as Caffe allows)."""
    from caffe.proto import caffe_pb2  # pycaffe's (the runner's own caffe_pb2 would register caffe.proto twice)

    from runners.caffe.netdef import blob_array

    trained = caffe_pb2.NetParameter()
    with open(weights_path, "rb") as f:
        trained.ParseFromString(f.read())
    params = net.params
    for layer in list(trained.layer) + list(trained.layers):  # V1 nets keep theirs in `layers`
        if layer.name not in params or not len(layer.blobs):
            continue
        target = params[layer.name]
        if len(target) != len(layer.blobs):
            sys.stderr.write("MMBROKER-BAD-WEIGHTS layer %s has %d blobs in the .caffemodel, %d in the net\n"
                             % (layer.name, len(layer.blobs), len(target)))  # fmt: skip
            raise SystemExit(4)
        for i, blob in enumerate(layer.blobs):
            data, shape = blob_array(blob)
            want = list(target[i].data.shape)
            if data.size != target[i].data.size or (shape != want and _squeezed(shape) != _squeezed(want)):
                sys.stderr.write("MMBROKER-BAD-WEIGHTS blob %d of layer %s has shape %s in the .caffemodel, %s in "
                                 "the net\n" % (i, layer.name, shape, list(target[i].data.shape)))  # fmt: skip
                raise SystemExit(4)
            target[i].data[...] = data.reshape(target[i].data.shape)


def _squeezed(shape):
    shape = list(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

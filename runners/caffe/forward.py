"""Run a Caffe net with pycaffe: `python -m runners.caffe.forward JOB_DIR`, a child of the runner.

JOB_DIR holds job.json (prototxt, caffemodel, phase, input names) and inputs.npz; results go to
outputs.npz as value_<i> arrays with names.json listing (kind, name) in that order. A Caffe CHECK
failure aborts this process only; the runner reads glog's message from its stderr.
"""

import json
import os
import sys

import numpy as np


def main(job_dir):
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    import caffe

    caffe.set_mode_cpu()
    phase = caffe.TRAIN if job["phase"] == "TRAIN" else caffe.TEST
    if job["weights"]:
        net = caffe.Net(job["net"], phase, weights=job["weights"])
    else:
        net = caffe.Net(job["net"], phase)
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


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

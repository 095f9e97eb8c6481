"""Build a keras.applications model around downloaded weights and save it whole (what MMdnn's
`mmdownload -f keras` wrote as `imagenet_<name>.h5`):

    <tensorflow env python> -m runners.tensorflow.assemble InceptionV3 WEIGHTS.h5 OUT.h5

The weights file is HDF5 (never unpickled); the application's code is Keras's own.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: python -m runners.tensorflow.assemble APPLICATION WEIGHTS OUT\n")
        return 2
    application, weights, out = argv
    import keras

    ctor = getattr(keras.applications, application, None)
    if ctor is None:
        sys.stderr.write("keras.applications has no %s\n" % application)
        return 2
    try:
        model = ctor(weights=weights)
    except Exception as exc:  # a weights file of another architecture or size
        sys.stderr.write("the weights do not fit keras.applications.%s: %s\n" % (application, exc))
        return 1
    from runners.common.tensors import atomic_write

    atomic_write(out, lambda tmp: model.save(tmp + ".h5") or os.replace(tmp + ".h5", tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

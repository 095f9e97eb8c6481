"""Hostile Keras files: each would run a payload when Keras rebuilds it. Made inside the
tensorflow runner's environment (the test process has no TensorFlow):

    <tensorflow env python> tests/per_runner/hostile_keras.py OUT_DIR [--prove]

Every payload creates OUT_DIR/<case>.ran. Cases: Keras 2 (tf_keras) .h5 with a Lambda inside
TimeDistributed, inside Bidirectional (as its backward layer), inside a Sequential nested in a
Functional model; Keras 3 .keras and .h5 with a Lambda inside TimeDistributed; Keras 2 .h5 whose
activation or initializer is an object from a module outside Keras (a module whose import runs
the payload, OUT_DIR/mmbroker_hostile_<case>.py); a tf_keras SavedModel with a Lambda (Keras
would rebuild it from keras_metadata.pb); a tf_keras TFOpLambda calling tf.io.write_file. Good
files beside them: TensorFlow functions in a tf_keras model, keras.ops in a Keras 3 model, a model
using Keras's own CustomScaleLayer (keras.applications) saved as Keras 3 .h5, and a Keras 3 .h5
Keras 3 cannot rebuild (an operator with a constant operand, as in MobileNetV3). Writes OUT_DIR/hostile.json:
[{"name", "file", "marker", "live"}].

With --prove, each live file is loaded the naive way in a child process (tf_keras's or Keras 3's
load_model with safe mode off, the module folder importable) and the script fails unless the
payload ran; the markers are removed afterwards. Four cases are refused all the same but are not
live with this environment's readers: tf_keras fails on a Bidirectional backward layer that is no
RNN before calling it, its .h5 reader resolves activations and initializers by name only (its
SavedModel and .keras readers do import an object's module), and write_file only runs on real
string inputs.
"""

import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import h5py  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402
from hostile_common import prove_and_index  # noqa: E402


def touching(marker):
    """A function that creates `marker` and passes its input through (a Lambda's body)."""
    return eval("lambda x: (open(%r, 'w').close(), x)[1]" % marker)


def saved_clean(path, marker):
    """Saving traces the Lambda, which runs it: remove the marker that left."""
    if os.path.exists(marker):
        os.unlink(marker)
    return path


def time_distributed(K):
    """A Lambda inside TimeDistributed, with Keras 3 (`keras`) or Keras 2 (`tf_keras`)."""

    def make(path, marker):
        inp = K.Input((3, 4), name="x")
        out = K.layers.TimeDistributed(K.layers.Lambda(touching(marker), name="evil"), name="time_distributed")(inp)
        K.Model(inp, out, name="model").save(path)

    return make


def k2_bidirectional(path, marker):
    """A Bidirectional LSTM whose backward layer is replaced, in the saved config, by a Lambda."""
    L = tf_keras.layers
    inp = tf_keras.Input((3, 4), name="x")
    tf_keras.Model(inp, L.Bidirectional(L.LSTM(2, name="lstm"), name="bidirectional")(inp), name="model").save(path)
    lam = L.Lambda(touching(marker), name="evil")
    lam(tf_keras.Input((3, 4)))
    lam_config = {"module": "keras.layers", "class_name": "Lambda", "config": lam.get_config(), "registered_name": None}
    edit_h5_config(path, lambda c: c["config"]["layers"][1]["config"].__setitem__("backward_layer", lam_config))


def k2_nested_sequential(path, marker):
    L = tf_keras.layers
    inner = tf_keras.Sequential([L.Dense(4, name="dense"), L.Lambda(touching(marker), name="evil")], name="inner")
    inp = tf_keras.Input((4,), name="x")
    tf_keras.Model(inp, inner(inp), name="model").save(path)


def k2_outside_module(key, object_config):
    """A Dense whose `key` (activation, kernel_initializer) is an object of a module outside
    Keras; the module, written beside the file, runs the payload when imported."""

    def make(path, marker):
        module = "mmbroker_hostile_%s" % key
        with open(os.path.join(os.path.dirname(path), module + ".py"), "w") as f:
            f.write("open(%r, 'w').close()\n" % marker)
            f.write("def act(x):\n    return x\n\nclass Init:\n    pass\n")
        L = tf_keras.layers
        inp = tf_keras.Input((4,), name="x")
        tf_keras.Model(inp, L.Dense(3, name="dense")(inp), name="model").save(path)
        edit_h5_config(path, lambda c: c["config"]["layers"][1]["config"].__setitem__(key, object_config(module)))

    return make


def k2_saved_model(path, marker):
    L = tf_keras.layers
    inp = tf_keras.Input((4,), name="x")
    out = L.Lambda(touching(marker), name="evil")(L.Dense(3, name="dense")(inp))
    tf_keras.Model(inp, out, name="model").save(path, save_format="tf")


def k3_custom_scale(path, marker):
    """Keras's own CustomScaleLayer (InceptionResNetV2's) in a small model, as Keras 3 .h5."""
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    L = keras.layers
    inp = keras.Input((8, 8, 3), name="x")
    a = L.Conv2D(4, 3, padding="same", name="a")(inp)
    b = L.Conv2D(4, 1, name="b")(inp)
    out = L.GlobalAveragePooling2D(name="pool")(CustomScaleLayer(scale=0.17, name="scale")([a, b]))
    keras.Model(inp, out, name="model").save(path)


def k3_constant_operand(path, marker):
    """`x + 3.0` as in MobileNetV3's hard swish: Keras 3 writes it to .h5 but cannot read it back."""
    L = keras.layers
    inp = keras.Input((4,), name="x")
    x = L.Dense(4, name="dense")(inp)
    keras.Model(inp, L.ReLU(6.0, name="relu6")(x + 3.0), name="model").save(path)


def k2_tf_ops(path, marker):
    """TensorFlow functions in a tf_keras functional model (saved as TFOpLambda layers)."""
    import tensorflow as tf

    inp = tf_keras.Input((4,), name="x")
    x = tf_keras.layers.Dense(4, name="dense")(inp)
    tf_keras.Model(inp, tf.nn.relu(x) * 2.0 + tf.math.reduce_sum(x, axis=1, keepdims=True), name="model").save(path)


def k2_tf_write_file(path, marker):
    """A TFOpLambda whose function, edited in the config, is tf.io.write_file."""
    k2_tf_ops(path, marker)
    edit_h5_config(path, lambda c: c["config"]["layers"][2]["config"].__setitem__("function", "io.write_file"))


def k3_ops(path, marker):
    """keras.ops in a Keras 3 functional model (saved as operation classes of keras.src.ops)."""
    inp = keras.Input((4, 6), name="x")
    x = keras.ops.mean(keras.ops.sqrt(keras.ops.abs(keras.layers.Dense(6, name="dense")(inp))), axis=1)
    keras.Model(inp, keras.ops.reshape(x, (-1, 2, 3))[:, 0], name="model").save(path)


def edit_h5_config(path, change):
    with h5py.File(path, "r+") as h:
        config = json.loads(h.attrs["model_config"])
        change(config)
        h.attrs["model_config"] = json.dumps(config)


CASES = {
    # name: (file name, maker, live)
    "k2_time_distributed_lambda": ("k2_time_distributed_lambda.h5", time_distributed(tf_keras), True),
    "k2_bidirectional_lambda": ("k2_bidirectional_lambda.h5", k2_bidirectional, False),
    "k2_nested_sequential_lambda": ("k2_nested_sequential_lambda.h5", k2_nested_sequential, True),
    "k3_time_distributed_lambda_keras": ("k3_time_distributed_lambda.keras", time_distributed(keras), True),
    "k3_time_distributed_lambda_h5": ("k3_time_distributed_lambda.h5", time_distributed(keras), True),
    "k2_activation_outside_keras": (
        "k2_activation_outside_keras.h5",
        k2_outside_module(
            "activation",
            lambda m: {"module": m, "class_name": "function", "config": "act", "registered_name": "function"},
        ),
        False,
    ),
    "k2_initializer_outside_keras": (
        "k2_initializer_outside_keras.h5",
        k2_outside_module(
            "kernel_initializer", lambda m: {"module": m, "class_name": "Init", "config": {}, "registered_name": None}
        ),
        False,
    ),
    "k2_saved_model_lambda": ("k2_saved_model_lambda", k2_saved_model, True),
    "k2_tf_write_file": ("k2_tf_write_file.h5", k2_tf_write_file, False),
    "k2_tf_ops_h5": ("k2_tf_ops.h5", k2_tf_ops, False),
    "k3_ops_keras": ("k3_ops.keras", k3_ops, False),
    "k3_custom_scale_h5": ("k3_custom_scale.h5", k3_custom_scale, False),
    "k3_constant_operand_h5": ("k3_constant_operand.h5", k3_constant_operand, False),
}

PROVE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, os.path.dirname(sys.argv[1]))
path = sys.argv[1]
if path.endswith(".keras") or (path.endswith(".h5") and sys.argv[2] == "3"):
    import keras
    keras.config.enable_unsafe_deserialization()
    keras.models.load_model(path, compile=False, safe_mode=False)
else:
    import tf_keras
    tf_keras.models.load_model(path, compile=False)
"""


def main(out, prove):
    os.makedirs(out, exist_ok=True)
    entries = []
    for name, (filename, make, live) in CASES.items():
        path, marker = os.path.join(out, filename), os.path.join(out, name + ".ran")
        if os.path.isdir(path):
            shutil.rmtree(path)
        make(path, marker)
        saved_clean(path, marker)
        entries.append({"name": name, "file": path, "marker": marker, "live": live})
    flavour = {True: "3", False: "2"}
    prove_and_index(out, entries, prove and (lambda e: [PROVE, e["file"], flavour[e["name"].startswith("k3")]]))


if __name__ == "__main__":
    main(sys.argv[1], "--prove" in sys.argv[2:])

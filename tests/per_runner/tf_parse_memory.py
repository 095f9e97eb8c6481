"""Run in the tensorflow environment: python tf_parse_memory.py REPO OUT_DIR [usual]

Saves a Keras 2 .h5 with 25 MB of weights, loads it as the runner does and converts it with
parse.keras_to_onnx, reporting the resident peak of the conversion over the resident size before
it (VmHWM, reset through /proc/self/clear_refs). With `usual`, the model is then converted again
the usual way (tf2onnx's own optimizer loop, freezing through grappler) and both ONNX models are
run by onnxruntime on the same input. Prints one JSON line."""

import json
import os
import sys

sys.path.insert(0, sys.argv[1])
out = sys.argv[2]

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

from runners.tensorflow import loading, parse  # noqa: E402


def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


tf_keras.utils.set_random_seed(0)
L = tf_keras.layers
inp = L.Input((16, 16, 32))
x = L.Conv2D(32, 3, padding="same")(inp)
x = L.BatchNormalization()(x)
x = L.Activation("relu")(x)
x = L.Flatten()(x)
x = L.Dense(768, activation="relu")(x)
x = L.Dense(10, activation="softmax")(x)
built = tf_keras.Model(inp, x)
path = os.path.join(out, "dense25mb.h5")
built.save(path)
weights = sum(w.size * w.itemsize for w in built.get_weights())
del built

src = loading.identify([path])
model = loading.load_keras(src, False)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
lean = parse.keras_to_onnx(model, [], path)
result = {"weights": weights, "peak_over_start": status("VmHWM") - before}

if sys.argv[3:] == ["usual"]:
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    signature = (tf.TensorSpec([1, 16, 16, 32], tf.float32, name=parse.keras_input_names(model)[0]),)
    handlers = dict(parse.HANDLERS)
    usual = parse._convert_logged(
        tf2onnx.convert.from_keras, path, model=model, input_signature=signature, custom_op_handlers=handlers
    )
    feed = np.random.RandomState(0).rand(1, 16, 16, 32).astype(np.float32)
    runs = []
    for m in (lean, usual):
        sess = ort.InferenceSession(m.SerializeToString())
        runs.append(sess.run(None, {sess.get_inputs()[0].name: feed})[0])
    result["max_abs_diff"] = float(np.abs(runs[0] - runs[1]).max())
    result["output_scale"] = float(np.abs(runs[1]).max())
    result["keras_diff"] = float(np.abs(runs[0] - model.predict(feed, verbose=0)).max())
print(json.dumps(result))

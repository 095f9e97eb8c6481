"""Run in the tensorflow environment: python keras_native_models.py REPO OUT_DIR

Builds Keras models (Keras 3 and tf_keras) that use every layer keras_graph.py converts, with
random weights and batch statistics, saves and loads each as the runner does, converts it layer by
layer (parse.keras_native), runs the ONNX model with onnxruntime and Keras on the same input
(batch 1, as the runner's parse fixes it), and prints one JSON line: {model: {"native": bool,
"max_abs": float, "scale": float, "ops": [...], "outputs": [...], "shapes": [...]}, "parse": {...}}.
A model a layer of which is not converted here reports native false (it goes through tf2onnx)."""

import json
import os
import sys

sys.path.insert(0, sys.argv[1])
out = sys.argv[2]

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

from runners.tensorflow import loading, parse  # noqa: E402


def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


def convolutions(K):
    L = K.layers
    image = K.Input((17, 19, 6), name="image")
    i = L.Rescaling(1 / 255.0, offset=-0.5, name="rescale")(image)
    i = L.Normalization(mean=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], variance=[1, 2, 3, 4, 5, 0.5], name="norm")(i)
    i = L.Rescaling([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], name="rescale_channels")(i)
    a = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c_same_s2")(i)
    b = L.Conv2D(8, (3, 2), padding="valid", dilation_rate=2, use_bias=False, name="c_dil")(i)
    b = L.ZeroPadding2D(((1, 2), (0, 3)), name="pad")(b)
    b = L.Cropping2D(((1, 0), (2, 1)), name="crop")(b)
    b = L.MaxPooling2D(3, 2, padding="same", name="maxpool_same")(b)
    c = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2, name="dw")(i)
    c = L.Conv2D(8, 1, groups=2, name="grouped")(c)
    d = L.SeparableConv2D(8, 3, padding="same", strides=2, depth_multiplier=2, activation="swish", name="sep")(i)
    x = L.Concatenate(name="cat_channels")([a, L.BatchNormalization(name="bn")(d)])
    x = L.Add(name="add")([x, L.Concatenate(axis=-1, name="cat2")([c, L.Activation("tanh", name="tanh")(c)])])
    x = L.BatchNormalization(scale=False, center=False, epsilon=1e-2, name="bn_plain")(x)
    x = L.AveragePooling2D(2, padding="same", name="avg_same")(x)
    x = L.ReLU(max_value=6.0, name="relu6")(x)
    y = L.AveragePooling2D(2, strides=1, padding="valid", name="avg_valid")(x)
    y = L.Concatenate(axis=1, name="cat_rows")([y, y])  # a spatial axis
    z = L.GlobalAveragePooling2D(name="gap")(x)
    w = L.GlobalMaxPooling2D(keepdims=True, name="gmp_keep")(x)
    f = L.Flatten(name="flat")(y)  # channels-last order
    f = L.Dense(12, activation="elu", name="fc")(f)
    f = L.Dropout(0.5, name="drop")(f)
    z = L.Concatenate(name="cat_flat")([z, f, L.Flatten(name="flat_keep")(w)])
    z = L.BatchNormalization(name="bn_dense")(z)
    z = L.Dense(5, name="logits")(z)
    z = L.Softmax(name="probs")(z)
    return K.Model(image, [z, b], name="convolutions")


def merges(K):
    L = K.layers
    i = K.Input((8, 8, 4), name="x")
    j = K.Input((8, 8, 4), name="y")
    a = L.Conv2D(4, 3, padding="same", name="ca")(i)
    m = [L.Multiply(name="mul")([a, j]), L.Subtract(name="sub")([a, j]), L.Maximum(name="max")([a, j]),
         L.Minimum(name="min")([a, j]), L.Average(name="avg")([a, j, i]), L.Add(name="add3")([a, j, i])]  # fmt: skip
    x = L.Concatenate(name="cat")(m)
    x = L.LeakyReLU(name="leaky")(x)
    x = L.ReLU(negative_slope=0.1, name="relu_slope")(x)
    x = L.Activation("sigmoid", name="sig")(x)
    x = L.Reshape((16, 4, 24), name="reshape")(x)  # Keras order
    x = L.Dense(3, activation="softplus", name="dense3d")(x)  # on the last axis of a 4-D value
    s = L.Activation("softmax", name="softmax4d")(L.Conv2D(3, 1, name="cs")(j))
    gate = L.Reshape((1, 1, 3), name="gate")(L.GlobalAveragePooling2D(name="squeeze")(s))
    s = L.Multiply(name="excite")([s, gate])  # broadcast over the image, as squeeze-and-excitation does
    return K.Model([i, j], [x, s], name="merges")


def sequential(K):
    L = K.layers
    return K.Sequential(
        [K.Input((10, 10, 3)), L.Conv2D(4, 3, activation="selu", name="c"), L.Flatten(name="f"),
         L.Dense(6, activation="relu6" if K is keras else "relu", name="d")], name="sequential")  # fmt: skip


def recurrent(K):
    L = K.layers
    i = K.Input((5, 3), name="seq")
    return K.Model(i, L.Dense(2, name="d")(L.LSTM(4, name="lstm")(i)), name="recurrent")


def scaled(K):
    i = K.Input((4, 4, 2), name="x")
    return K.Model(i, K.layers.Conv2D(2, 1, name="c")(i) * 0.5, name="scaled")  # an op with a number


def randomise(model, rng):
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        made = []
        for w in weights:
            v = rng.normal(0, 0.5, w.shape).astype(np.float32)
            made.append(v)
        if type(layer).__name__ == "BatchNormalization":
            made[-1] = rng.uniform(0.5, 1.5, weights[-1].shape).astype(np.float32)  # moving variance
        layer.set_weights(made)


results = {}
rng = np.random.RandomState(0)
import onnxruntime as ort  # noqa: E402
from onnx import numpy_helper  # noqa: E402

for K, flavour, ext in ((keras, "keras3", ".keras"), (tf_keras, "tf_keras", ".h5")):
    for build in (convolutions, merges, sequential, recurrent, scaled):
        built = build(K)
        randomise(built, rng)
        path = os.path.join(out, "%s_%s%s" % (build.__name__, flavour, ext))
        built.save(path)
        weights = sum(w.size * w.itemsize for w in built.get_weights())
        del built
        model = loading.load_keras(loading.identify([path]), False)
        native = parse.keras_native(model, [], path)
        entry = results["%s/%s" % (flavour, build.__name__)] = {"native": native is not None}
        if native is None:
            continue
        onnx_model, located = native
        entry["ops"] = sorted({n.op_type for n in onnx_model.graph.node})
        for init in onnx_model.graph.initializer:
            if init.name in located:
                init.CopyFrom(numpy_helper.from_array(located[init.name].read(), init.name))
        shapes = [[1] + [int(d) for d in t.shape[1:]] for t in model.inputs]
        feeds = [rng.normal(0, 1, s).astype(np.float32) for s in shapes]
        sess = ort.InferenceSession(onnx_model.SerializeToString())
        got = sess.run(None, dict(zip(parse.keras_input_names(model), feeds)))
        want = model(feeds if len(feeds) > 1 else feeds[0], training=False)
        want = [np.asarray(w) for w in (want if isinstance(want, (list, tuple)) else [want])]
        entry["outputs"] = [o.name for o in onnx_model.graph.output]
        entry["shapes"] = [[list(g.shape), list(w.shape)] for g, w in zip(got, want)]
        entry["max_abs"] = max(float(np.abs(g - w).max()) for g, w in zip(got, want))
        entry["scale"] = max(float(np.abs(w).max()) for w in want)

# the whole parse of a model with 25 MB of weights (the Keras model loaded before, as the runner's
# cache gives it to the parse): its weights are written to the IR's .npz one array at a time
from runners.common.rpc import pb  # noqa: E402

L = tf_keras.layers
inp = L.Input((16, 16, 32))
x = L.Conv2D(32, 3, padding="same")(inp)
x = L.BatchNormalization()(x)
x = L.Dense(768, activation="relu")(L.Flatten()(L.Activation("relu")(x)))
built = tf_keras.Model(inp, L.Dense(10, activation="softmax")(x))
path = os.path.join(out, "dense25mb.h5")
built.save(path)
weights = sum(w.size * w.itemsize for w in built.get_weights())
del built
loading.load_keras(loading.identify([path]), False)
work = os.path.join(out, "work")
os.makedirs(work)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
parse.parse(pb.ParseRequest(sources=[path], workspace=work))
results["parse"] = {"weights": weights, "peak_over_start": status("VmHWM") - before, "files": sorted(os.listdir(work))}
print(json.dumps(results))

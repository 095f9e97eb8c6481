"""TensorFlow/Keras test models with seeded random weights, made inside the tensorflow runner's
environment (the test process has no TensorFlow):

    <tensorflow env python> tests/parity/tf_models.py OUT_DIR

writes OUT_DIR/<name>.keras for keras.applications models at small input sizes, a Keras 2 .h5,
a TF1 slim-style checkpoint (`slim.ckpt.meta` + `slim.ckpt.*`, output node `MMdnn_Output`), the
same network frozen (`slim_frozen.pb`), and bad inputs (a Lambda layer whose function would leave
a marker file, a graph with an op tf2onnx cannot convert), plus OUT_DIR/tf_models.json.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

# name -> (constructor, input shape H,W,C); small inputs where the architecture allows
APPLICATIONS = {
    "mobilenetv2": ("MobileNetV2", (32, 32, 3)),
    "resnet50": ("ResNet50", (32, 32, 3)),
    "vgg19": ("VGG19", (32, 32, 3)),
    "mobilenet": ("MobileNet", (32, 32, 3)),
    "densenet121": ("DenseNet121", (32, 32, 3)),
    "resnet50v2": ("ResNet50V2", (32, 32, 3)),
    "inceptionv3": ("InceptionV3", (75, 75, 3)),
    "xception": ("Xception", (71, 71, 3)),
    "nasnetmobile": ("NASNetMobile", (32, 32, 3)),
}


def randomise(model, rng, layer_types):
    """Random weights with real spread: fan-in scaled kernels, non-trivial batch-norm statistics."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, layer_types.BatchNormalization):
            new = []
            for w, v in zip(layer.weights, weights):
                kind = v.shape
                if "gamma" in w.name:
                    new.append(rng.uniform(0.5, 1.5, kind))
                elif "moving_variance" in w.name:
                    new.append(rng.uniform(0.5, 1.5, kind))
                else:
                    new.append(rng.normal(0, 0.1, kind))
            weights = new
        else:
            new = []
            for w in weights:
                if w.ndim > 1:
                    depthwise = isinstance(layer, layer_types.DepthwiseConv2D)
                    fan = np.prod(w.shape[:2]) if depthwise else np.prod(w.shape[:-1])
                    new.append(rng.normal(0, 1.0 / np.sqrt(fan), w.shape))
                else:
                    new.append(rng.normal(0, 0.1, w.shape))
            weights = new
        layer.set_weights([np.asarray(w, np.float32) for w in weights])


def build_application(name, out, rng, names):
    import keras

    ctor, shape = APPLICATIONS[name]
    model = getattr(keras.applications, ctor)(weights=None, input_shape=shape, classes=10, classifier_activation=None)
    randomise(model, rng, keras.layers)
    model.save(os.path.join(out, name + ".keras"))
    return {"name": name, "file": name + ".keras", "shape": [1, *shape]}


def build_keras2_h5(out, rng):
    import tf_keras

    L = tf_keras.layers
    inp = tf_keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(10, name="fc")(x)
    model = tf_keras.Model(inp, x, name="keras2_cnn")
    randomise(model, rng, L)
    model.save(os.path.join(out, "keras2_cnn.h5"))
    return {"name": "keras2_cnn", "file": "keras2_cnn.h5", "shape": [1, 16, 16, 3]}


def build_lambda(out):
    """A model whose Lambda would create `marker` when run: loading must refuse it untouched."""
    import keras
    import tf_keras

    marker = os.path.join(out, "lambda_ran.marker")
    code = "lambda x: (open(%r, 'w').close(), x)[1]" % marker
    fn = eval(code)
    inp = keras.Input((4,), name="x")
    keras.Model(inp, keras.layers.Lambda(fn, name="evil")(inp)).save(os.path.join(out, "lambda.keras"))
    inp2 = tf_keras.Input((4,), name="x")
    tf_keras.Model(inp2, tf_keras.layers.Lambda(fn, name="evil")(inp2)).save(os.path.join(out, "lambda.h5"))
    if os.path.exists(marker):
        os.unlink(marker)  # building the models ran it; the test checks that loading does not


def slim_graph(tf, rng):
    """A slim-style TF1 network: conv-relu-pool twice, fully connected, `MMdnn_Output`."""
    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 16, 16, 3], name="input")

    def var(name, shape, scale):
        return v1.get_variable(name, initializer=(rng.standard_normal(shape) * scale).astype(np.float32))

    with v1.variable_scope("conv1"):
        y = tf.nn.conv2d(x, var("weights", [3, 3, 3, 8], 0.3), [1, 1, 1, 1], "SAME")
        y = tf.nn.relu(tf.nn.bias_add(y, var("biases", [8], 0.1)))
    y = tf.nn.max_pool2d(y, 2, 2, "VALID", name="pool1")
    with v1.variable_scope("conv2"):
        y = tf.nn.conv2d(y, var("weights", [3, 3, 8, 16], 0.2), [1, 2, 2, 1], "SAME")
        y = tf.nn.relu(tf.nn.bias_add(y, var("biases", [16], 0.1)))
    y = tf.nn.avg_pool2d(y, 2, 2, "VALID", name="pool2")
    y = tf.reshape(y, [-1, 2 * 2 * 16])
    with v1.variable_scope("logits"):
        y = tf.matmul(y, var("weights", [64, 10], 0.3)) + var("biases", [10], 0.1)
    return tf.identity(y, name="MMdnn_Output")


def build_tf1(out, rng):
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        output = slim_graph(tf, rng)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, os.path.join(out, "slim.ckpt"))
            frozen = v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), [output.op.name])
    with open(os.path.join(out, "slim_frozen.pb"), "wb") as f:
        f.write(frozen.SerializeToString())
    # a graph with an op tf2onnx has no converter for (two nodes of it)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [1, 4, 4], name="input")
        a = tf.raw_ops.MatrixSquareRoot(input=x, name="sqrtm_a")
        b = tf.raw_ops.MatrixSquareRoot(input=a, name="sqrtm_b")
        tf.identity(b + 1.0, name="output")
    with open(os.path.join(out, "unsupported.pb"), "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())


def main(out, names):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    entries = [build_application(n, out, rng, names) for n in names]
    entries.append(build_keras2_h5(out, rng))
    build_lambda(out)
    build_tf1(out, rng)
    with open(os.path.join(out, "tf_models.json"), "w") as f:
        json.dump(entries, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["mobilenetv2", "resnet50", "vgg19"])

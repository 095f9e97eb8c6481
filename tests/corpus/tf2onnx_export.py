"""A Keras CNN exported to ONNX by tf2onnx, the way TensorFlow users hand models to ONNX tools
(NHWC graph with its layout transposes, tf2onnx's own rewrites). Run inside the TensorFlow runner's
environment (it has tensorflow and tf2onnx):

    <tensorflow env python> tests/corpus/tf2onnx_export.py OUT.onnx
"""

import sys

import numpy as np


def build():
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    x = keras.Input((32, 32, 3), name="image")
    y = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    y = layers.BatchNormalization(name="stem_bn")(y)
    y = layers.ReLU(6.0, name="stem_relu6")(y)
    a = layers.DepthwiseConv2D(3, padding="same", name="dw")(y)
    a = layers.BatchNormalization(name="dw_bn")(a)
    a = layers.Activation("relu", name="dw_relu")(a)
    a = layers.Conv2D(16, 1, name="pw")(a)
    y = layers.Add(name="residual")([y, a])
    p = layers.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(y)
    q = layers.AveragePooling2D(3, strides=2, padding="same", name="avgpool")(y)
    y = layers.Concatenate(name="concat")([p, q])
    y = layers.SeparableConv2D(24, 3, padding="same", activation="swish", name="sep")(y)
    u = layers.UpSampling2D(2, name="upsample")(y)
    u = layers.ZeroPadding2D(((1, 0), (0, 1)), name="zeropad")(u)
    u = layers.Conv2D(8, 2, name="after_pad")(u)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    z = layers.GlobalMaxPooling2D(name="gmp")(u)
    y = layers.Concatenate(name="features")([y, z])
    y = layers.Dense(10, name="logits")(y)
    model = keras.Model(x, y, name="tf2onnx_cnn")
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])  # fmt: skip
    return model


def main(out):
    import tensorflow as tf
    import tf2onnx

    model = build()
    spec = (tf.TensorSpec((1, 32, 32, 3), tf.float32, name="image"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=out)


if __name__ == "__main__":
    main(sys.argv[1])

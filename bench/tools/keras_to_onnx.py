"""The peer chain's first half for Keras: tf2onnx converts a Keras .h5 (read with tf_keras, Keras 2)
to ONNX (opset 13).

    python keras_to_onnx.py MODEL.h5 OUT.onnx
"""

import sys

import tf2onnx
import tf_keras

model = tf_keras.models.load_model(sys.argv[1], compile=False)
tf2onnx.convert.from_keras(model, opset=13, output_path=sys.argv[2])

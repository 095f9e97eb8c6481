"""Keras InceptionV3 (299x299, 1000 classes) with Keras' own random initial weights, saved as a Keras 2 .h5:
`keras` (standalone Keras 2, MMdnn's environment) when it imports, else tf_keras.

    python keras_inception_v3.py OUT.h5
"""

import sys

import numpy as np

try:
    import keras

    if not keras.__version__.startswith("2."):
        raise ImportError
except ImportError:
    import tf_keras as keras

np.random.seed(0)
model = keras.applications.InceptionV3(weights=None, input_shape=(299, 299, 3))
model.save(sys.argv[1])

"""Keras alone loading a Keras 2 .h5 (with tf_keras, as mmbroker's TensorFlow runner reads one) and
running it on the check's batches (1, then 3): the framework's own share of a checked conversion's
memory, without mmbroker.

    python keras_alone.py MODEL.h5
"""

import sys

import numpy as np
import tf_keras

model = tf_keras.models.load_model(sys.argv[1], compile=False)
rng = np.random.default_rng(0)
for batch in (1, 3):
    model(rng.standard_normal([batch, *model.input_shape[1:]], dtype=np.float32), training=False)

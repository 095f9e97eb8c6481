"""Keras sequence models with seeded random weights, made inside the tensorflow runner's environment:

    <tensorflow env python> tests/parity/keras_sequence_models.py OUT_DIR

writes OUT_DIR/<name>.keras and OUT_DIR/keras_sequence_models.json (per model its input shape
without the batch, dtype and the valid range of integer inputs):

- keras_rnn: token ids -> Embedding -> LSTM (sequences) -> Bidirectional GRU -> Dense;
- keras_encoder: a transformer encoder block on token ids: Embedding plus a learned position
  embedding, MultiHeadAttention, residual LayerNormalization, a GELU feed-forward, pooled Dense.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

VOCAB, SEQ, DIM = 50, 6, 16


def keras_rnn(keras):
    ids = keras.Input((SEQ,), dtype="int32", name="ids")
    x = keras.layers.Embedding(VOCAB, DIM, name="embed")(ids)
    x = keras.layers.LSTM(12, return_sequences=True, name="lstm")(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True), name="bigru")(x)
    out = keras.layers.Dense(5, name="head")(x)
    return keras.Model(ids, out, name="keras_rnn")


def keras_encoder(keras):
    ids = keras.Input((SEQ,), dtype="int32", name="ids")
    tokens = keras.layers.Embedding(VOCAB, DIM, name="tokens")(ids)
    positions = keras.layers.Embedding(SEQ, DIM, name="positions")(keras.ops.arange(SEQ))
    x = keras.layers.Add(name="embed")([tokens, positions])
    att = keras.layers.MultiHeadAttention(num_heads=4, key_dim=4, name="attention")(x, x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm1")(keras.layers.Add(name="res1")([x, att]))
    ff = keras.layers.Dense(32, activation="gelu", name="ff1")(x)
    ff = keras.layers.Dense(DIM, name="ff2")(ff)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm2")(keras.layers.Add(name="res2")([x, ff]))
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    out = keras.layers.Dense(3, name="head")(pooled)
    return keras.Model(ids, out, name="keras_encoder")


def main(out_dir):
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    os.makedirs(out_dir, exist_ok=True)
    index = []
    for build in (keras_rnn, keras_encoder):
        model = build(keras)
        for layer in model.layers:  # biases and norms away from their 0/1 defaults: they are checked too
            layer.set_weights([w if w.ndim > 1 else w + rng.normal(0, 0.1, w.shape) for w in layer.get_weights()])
        model.save(os.path.join(out_dir, build.__name__ + ".keras"))
        index.append({"name": build.__name__, "shape": [SEQ], "dtype": "int32", "range": [0, VOCAB - 1]})
    with open(os.path.join(out_dir, "keras_sequence_models.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])

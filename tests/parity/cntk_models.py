"""Small CNTK models with seeded random weights, built by CNTK itself: run with the cntk env's
python, `python cntk_models.py OUT_DIR [NAME...]`; writes OUT_DIR/<name>.model and prints JSON
{name: input shape with batch}. Each model carries one of CNTK's semantic traps: automatic padding
that pads the lower side on even inputs with stride 2, even kernels, BatchNormalization epsilon in
spatial and per-element mode, pooling with ceil and include-pad."""

import json
import os
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
import cntk as C  # noqa: E402
from cntk.layers import AveragePooling, Convolution2D, Dense, Dropout, MaxPooling  # noqa: E402

RNG = np.random.RandomState(7)


def randomize(model):
    for p in model.parameters:
        p.value = (RNG.standard_normal(p.shape) * 0.3).astype(np.float32)
    return model


def batch_norm(x, spatial, eps):
    shape = (x.shape[0],) if spatial else x.shape
    scale = C.parameter(shape, init=RNG.uniform(0.5, 1.5, shape).astype(np.float32))
    bias = C.parameter(shape, init=RNG.standard_normal(shape).astype(np.float32) * 0.1)
    mean = C.constant(RNG.standard_normal(shape).astype(np.float32) * 0.2)
    var = C.constant(RNG.uniform(0.5, 2.0, shape).astype(np.float32))
    count = C.constant(1000.0)
    return C.batch_normalization(x, scale, bias, mean, var, spatial, running_count=count, epsilon=eps)


def cnn():
    """Conv stride 2 with automatic padding on an even input, spatial BN, max/average pooling, Dense."""
    x = C.input_variable((3, 16, 16), name="data")
    h = Convolution2D((3, 3), 8, strides=2, pad=True, name="conv1")(x)
    h = C.relu(batch_norm(h, True, 1e-3), name="bn1_relu")
    h = MaxPooling((3, 3), strides=2, pad=True, name="pool1")(h)
    h = Convolution2D((2, 2), 6, pad=True, activation=C.tanh, name="conv2")(h)
    h = AveragePooling((2, 2), strides=1, name="pool2")(h)
    h = Dropout(0.3)(h)
    h = Dense(10, name="fc")(h)
    return randomize(C.softmax(h, name="prob")), (1, 3, 16, 16)


def ops():
    """Splice, Slice, Reshape, Pad, LeakyReLU, per-element BN, Transpose, reductions, softmax on an axis."""
    x = C.input_variable((4, 6, 6), name="data")
    h = Convolution2D((3, 3), 4, strides=2, pad=True, name="conv_odd")(x)  # 6 -> 3, pads lower
    a = C.leaky_relu(batch_norm(h, False, 1e-5), alpha=0.2)
    b = C.sigmoid(C.slice(x, [1, 2], [1, 1], [4, 4]))  # (4, 3, 3)
    b = C.slice(b, 0, 1, 0)  # end 0: to the end of the axis -> (3, 3, 3)
    s = C.splice(a, b * 2.0 - 0.5, axis=0, name="joined")
    p = C.pad(s, pattern=[(0, 0), (1, 0), (0, 2)], constant_value=0.25)
    t = C.transpose(p, (0, 2, 1))
    m = C.reduce_mean(t, axis=2) - C.reduce_max(t, axis=1)
    r = C.reshape(m, (10, -1))
    sm = C.softmax(r, axis=0)
    out = Dense(5, activation=C.tanh, name="head")(sm)
    return randomize(out), (1, 4, 6, 6)


def pool():
    """Pooling: ceilOutDim, automatic padding with and without the pad in the average, groups."""
    x = C.input_variable((4, 8, 8), name="data")
    w = C.parameter((4, 2, 3, 3), init=C.glorot_uniform(), name="grouped.W")
    g = C.convolution(w, x, strides=(1, 1), auto_padding=[False, True, True], groups=2, name="grouped")
    a = C.pooling(g, C.MAX_POOLING, (3, 3), strides=(2, 2), ceil_out_dim=True, name="max_ceil")  # 8 -> 4
    b = C.pooling(g, C.AVG_POOLING, (3, 3), strides=(2, 2), auto_padding=[True, True], include_pad=True)
    c = C.pooling(g, C.AVG_POOLING, (2, 2), strides=(2, 2), auto_padding=[True, True], name="avg_exclude")
    d = C.pooling(x, C.AVG_POOLING, (3, 3), strides=(1, 1), auto_padding=[True, True], name="avg_edges")
    h = C.splice(a, b, c, axis=0)
    return randomize(Dense(6)(C.splice(C.reshape(h, (-1,)), C.reshape(d, (-1,)), axis=0))), (1, 4, 8, 8)


def unsupported():
    """Two ops without an IR converter (Cos, Hardmax), for the error that lists every node."""
    x = C.input_variable((5,), name="data")
    return C.hardmax(C.cos(x, name="cosine"), name="hard") + Dense(5)(x), (1, 5)


def _recurrent(cell, backwards):
    x = C.sequence.input_variable(4, name="x")
    h = C.layers.Recurrence(cell, go_backwards=backwards, name="rec")(x)
    h = C.layers.Recurrence(C.layers.LSTM(6, name="lstm2"), name="rec2")(h)
    return randomize(Dense(3, name="fc")(C.sequence.last(h))), (1, 5, 4)


def lstm_seq():
    """Two stacked C.layers.LSTM recurrences (the first backwards), the last step, a Dense."""
    return _recurrent(C.layers.LSTM(8, name="lstm"), True)


def gru_seq():
    """C.layers.GRU (its reset gate before the recurrent product), an LSTM, the last step, a Dense."""
    return _recurrent(C.layers.GRU(8, name="gru"), False)


MODELS = {"cnn": cnn, "ops": ops, "pool": pool, "unsupported": unsupported, "lstm_seq": lstm_seq,
          "gru_seq": gru_seq}  # fmt: skip


def main(argv):
    out_dir = argv[1]
    names = argv[2:] or sorted(MODELS)
    os.makedirs(out_dir, exist_ok=True)
    shapes = {}
    for name in names:
        model, shape = MODELS[name]()
        model.save(os.path.join(out_dir, name + ".model"))
        shapes[name] = list(shape)
    print(json.dumps(shapes))


if __name__ == "__main__":
    main(sys.argv)

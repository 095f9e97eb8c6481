"""MXNet models for the parity tests, made with real MXNet inside the MXNet runner's environment.

    <mxnet env python> tests/parity/mxnet_zoo.py OUT_DIR [NAME ...]

writes OUT_DIR/<name>-symbol.json + <name>-0000.params and OUT_DIR/mxnet_zoo.json (name, input
shape, kind). Two kinds:
- `zoo`: Gluon model-zoo architectures (pretrained=False, seeded Xavier weights, BatchNorm
  statistics and affine parameters randomised so that BatchNorm is not the identity), hybridized
  and exported the way Gluon users ship models;
- `op`: one-layer symbols written with the Symbol API and saved Module-style (arg:/aux: names),
  one per MXNet semantic the converter must keep (pooling conventions, fix_gamma, Reshape codes...).
"""

import json
import os
import sys

import mxnet as mx
import numpy as np

# name -> (zoo name, input shape): inputs as small as each architecture allows
ZOO = {
    "resnet18_v1": ("resnet18_v1", (1, 3, 64, 64)),
    "mobilenetv2_1.0": ("mobilenetv2_1.0", (1, 3, 64, 64)),
    "squeezenet1.1": ("squeezenet1.1", (1, 3, 224, 224)),
    "densenet121": ("densenet121", (1, 3, 224, 224)),
    "inceptionv3": ("inceptionv3", (1, 3, 299, 299)),
    "vgg11_bn": ("vgg11_bn", (1, 3, 32, 32)),
    "alexnet": ("alexnet", (1, 3, 64, 64)),
    "mobilenet0.25": ("mobilenet0.25", (1, 3, 64, 64)),
    "resnet50_v2": ("resnet50_v2", (1, 3, 64, 64)),
    "resnet50_v1": ("resnet50_v1", (1, 3, 224, 224)),
}


def _data():
    return mx.sym.var("data")


def _ops():
    d = _data()
    s4 = (1, 3, 9, 9)
    return {
        "pool_full_max": (mx.sym.Pooling(d, kernel=(3, 3), stride=(2, 2), pooling_convention="full", name="p"), s4),
        "pool_full_avg_pad": (
            mx.sym.Pooling(
                d, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", pooling_convention="full", name="p"
            ),
            (1, 3, 8, 8),
        ),
        "pool_avg_include_pad": (
            mx.sym.Pooling(d, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", name="p"),
            s4,
        ),
        "pool_avg_exclude_pad": (
            mx.sym.Pooling(
                d, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", count_include_pad=False, name="p"
            ),
            s4,
        ),
        "pool_global": (mx.sym.Pooling(d, kernel=(1, 1), global_pool=True, pool_type="avg", name="p"), s4),
        "bn_fix_gamma": (mx.sym.BatchNorm(d, name="bn"), s4),
        "bn_global_stats": (mx.sym.BatchNorm(d, fix_gamma=False, use_global_stats=True, eps=2e-5, name="bn"), s4),
        "softmax_output": (mx.sym.SoftmaxOutput(mx.sym.FullyConnected(d, num_hidden=5, name="fc"), name="softmax"), s4),
        "softmax_output_4d": (mx.sym.SoftmaxOutput(d, name="softmax"), s4),
        "softmax_output_multi": (mx.sym.SoftmaxOutput(d, multi_output=True, name="softmax"), s4),
        "leaky": (mx.sym.LeakyReLU(d, act_type="leaky", slope=0.2, name="act"), s4),
        "prelu": (mx.sym.LeakyReLU(d, act_type="prelu", name="act"), s4),
        "elu": (mx.sym.LeakyReLU(d, act_type="elu", slope=0.7, name="act"), s4),
        "rrelu": (mx.sym.LeakyReLU(d, act_type="rrelu", name="act")[0] * 2, s4),
        "clip_relu6": (mx.sym.clip(mx.sym.Convolution(d, kernel=(1, 1), num_filter=4, name="c") * 4, 0, 6), s4),
        "fc_flatten": (mx.sym.FullyConnected(d, num_hidden=5, name="fc"), s4),
        "fc_no_flatten": (mx.sym.FullyConnected(d, num_hidden=5, flatten=False, no_bias=True, name="fc"), s4),
        "concat_add": (
            mx.sym.elemwise_add(mx.sym.Concat(d, d * 2, dim=1, name="cat"), mx.sym.tile(d, reps=(1, 2, 1, 1))),
            s4,
        ),
        "broadcast": (
            mx.sym.broadcast_mul(
                mx.sym.broadcast_add(d, mx.sym.sum(d, axis=1, keepdims=True)), mx.sym.sigmoid(mx.sym.max(d))
            ),
            s4,
        ),
        "deconv_bias": (mx.sym.Deconvolution(d, kernel=(4, 4), stride=(2, 2), pad=(1, 1), num_filter=4, name="dc"), s4),
        "deconv_adj_group": (
            mx.sym.Deconvolution(
                d, kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1), num_filter=6, num_group=3, name="dc"
            ),
            s4,
        ),
        "upsampling": (mx.sym.UpSampling(d, scale=2, sample_type="nearest", name="up"), s4),
        "pad_slice": (
            mx.sym.slice_axis(
                mx.sym.Pad(d, mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 3, 0), constant_value=0.5), 2, 1, 8
            ),
            s4,
        ),
        "reshape_codes": (
            mx.sym.Reshape(
                mx.sym.Reshape(mx.sym.Reshape(d, shape=(0, -4, 1, 3, -2)), shape=(-3, -2)), shape=(-1, 0), reverse=True
            ),
            s4,
        ),
        "lrn": (mx.sym.LRN(d, nsize=3, name="lrn"), s4),
    }


def _randomise(params, rng):
    for name, p in params.items():
        shape = p.shape
        if name.endswith(("running_mean", "moving_mean")):
            p.set_data(mx.nd.array(rng.normal(0, 0.2, shape)))
        elif name.endswith(("running_var", "moving_var")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, shape)))
        elif name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, shape)))
        elif name.endswith("beta"):
            p.set_data(mx.nd.array(rng.normal(0, 0.2, shape)))


def build_zoo(name, out):
    from mxnet.gluon.model_zoo import vision

    arch, shape = ZOO[name]
    mx.random.seed(0)
    net = vision.get_model(arch, pretrained=False, classes=10)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2.0))
    net(mx.nd.zeros(shape))  # deferred shapes
    _randomise(net.collect_params(), np.random.default_rng(0))
    net.hybridize()
    net(mx.nd.zeros(shape))
    net.export(os.path.join(out, name), epoch=0)
    return shape


def _recurrent():
    """Gluon recurrent layers, exported as MXNet's fused RNN operator: name -> (layer, input shape)."""
    from mxnet.gluon import rnn

    return {
        "gluon_lstm": (lambda: rnn.LSTM(12, num_layers=2, layout="NTC", input_size=6), (2, 5, 6)),
        "gluon_gru": (lambda: rnn.GRU(10, layout="NTC", bidirectional=True, input_size=6), (2, 5, 6)),
        "gluon_rnn_relu": (lambda: rnn.RNN(8, num_layers=2, activation="relu", input_size=6), (5, 2, 6)),
    }


def build_recurrent(name, make, shape, out):
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.HybridSequential()
    net.add(make())
    net.initialize(mx.init.Uniform(0.5))
    net.hybridize()
    net(mx.nd.zeros(shape))
    net.export(os.path.join(out, name), epoch=0)


def build_op(name, sym, shape, out):
    rng = np.random.default_rng(1)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=shape)
    save = {}
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n != "data" and not n.endswith("_label"):
            save["arg:" + n] = mx.nd.array(rng.standard_normal(s).astype(np.float32))
    for n, s in zip(sym.list_auxiliary_states(), aux_shapes):
        value = rng.uniform(0.5, 1.5, s) if n.endswith("var") else rng.normal(0, 0.5, s)
        save["aux:" + n] = mx.nd.array(value.astype(np.float32))
    sym.save(os.path.join(out, name + "-symbol.json"))
    mx.nd.save(os.path.join(out, name + "-0000.params"), save)


def main(argv):
    out = argv[0]
    wanted = set(argv[1:])
    os.makedirs(out, exist_ok=True)
    entries = []
    for name in ZOO:
        if wanted and name not in wanted:
            continue
        shape = build_zoo(name, out)
        entries.append({"name": name, "shape": list(shape), "kind": "zoo"})
    for name, (sym, shape) in _ops().items():
        if wanted and name not in wanted:
            continue
        build_op(name, sym, shape, out)
        entries.append({"name": name, "shape": list(shape), "kind": "op"})
    for name, (make, shape) in _recurrent().items():
        if wanted and name not in wanted:
            continue
        build_recurrent(name, make, shape, out)
        entries.append({"name": name, "shape": list(shape), "kind": "recurrent"})
    with open(os.path.join(out, "mxnet_zoo.json"), "w") as f:
        json.dump(entries, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])

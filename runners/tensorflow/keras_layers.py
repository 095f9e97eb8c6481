"""One converter per Keras layer class, for keras_graph.convert: f(graph, layer, inputs, output
shapes) -> [Value]. A setting a converter does not handle raises NotNative, and the model goes
through tf2onnx. Keras 3 and tf_keras layers share these classes' names and configs."""

import math

import numpy as np

from .keras_graph import LAYERS, NotNative, Value

OIHW = (3, 2, 0, 1)  # a Keras kernel (kh, kw, in, out) -> ONNX (out, in, kh, kw)


def _config(layer):
    config = layer.get_config()
    if config.get("data_format") not in (None, "channels_last"):
        raise NotNative(layer, "data_format %s" % config.get("data_format"))
    return config


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


def _pads(layer, value, kernel, strides, dilations, padding):
    """ONNX pads (top, left, bottom, right) for Keras padding 'valid' or 'same' (TensorFlow's SAME:
    the odd pixel after)."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding != "same":
        raise NotNative(layer, "padding %s" % padding)
    before, after = [], []
    for size, k, s, d in zip(value.shape[1:3], kernel, strides, dilations):
        if size is None:
            raise NotNative(layer, "padding 'same' on an input whose size is not known")
        total = max((int(math.ceil(size / float(s))) - 1) * s + (k - 1) * d + 1 - size, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


# -- activations --------------------------------------------------------------------------------
def _softmax(g, value, name, keras_axis=-1):
    return Value(g.node("Softmax", [value.name], name, axis=value.axis(keras_axis)), value.shape, value.nchw)


def _unary(op, **attrs):
    def make(g, value, name):
        return Value(g.node(op, [value.name], name, **attrs), value.shape, value.nchw)

    return make


def _swish(g, value, name):
    sig = g.node("Sigmoid", [value.name], name + "/sigmoid")
    return Value(g.node("Mul", [value.name, sig], name), value.shape, value.nchw)


def _relu6(g, value, name):
    lo, hi = g.constant(name + "/min", np.float32(0)), g.constant(name + "/max", np.float32(6))
    return Value(g.node("Clip", [value.name, lo, hi], name), value.shape, value.nchw)


ACTIVATIONS = {
    "relu": _unary("Relu"),
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "softmax": _softmax,
    "elu": _unary("Elu", alpha=1.0),
    "selu": _unary("Selu", alpha=1.6732632423543772, gamma=1.0507009873554805),
    "softplus": _unary("Softplus"),
    "softsign": _unary("Softsign"),
    "exponential": _unary("Exp"),
    "swish": _swish,
    "silu": _swish,
    "relu6": _relu6,
    "hard_silu": _unary("HardSwish"),  # x * relu6(x + 3) / 6
    "hard_swish": _unary("HardSwish"),
}


def _activate(g, layer, value, name, activation):
    """`value` through the Keras activation named `activation`, its output called `name`."""
    if activation in (None, "linear"):
        if value.name != name:
            return Value(g.node("Identity", [value.name], name), value.shape, value.nchw)
        return value
    fn = ACTIVATIONS.get(activation) if isinstance(activation, str) else None
    if fn is None:
        raise NotNative(layer, "activation %r" % (activation,))
    return fn(g, value, name)


def _then_activation(g, layer, value, config):
    """A layer's own op output `value`, then its `activation` setting, the last value named for
    the layer."""
    activation = config.get("activation")
    if activation in (None, "linear"):
        return value
    return _activate(g, layer, value, layer.name, activation)


def _op_name(layer, config):
    return layer.name if config.get("activation") in (None, "linear") else layer.name + "/preact"


# -- convolutions -------------------------------------------------------------------------------
def _conv(g, layer, x, kernel_name, kernel_var, kernel_shape, transform, config, group, bias=True):
    k = _pair(config["kernel_size"])
    strides, dilations = _pair(config["strides"]), _pair(config.get("dilation_rate", 1))
    x = g.nchw(x)
    pads = _pads(layer, x, k, strides, dilations, config["padding"])
    w = g.weight(layer.name + "/" + kernel_name, kernel_var, kernel_shape, transform)
    inputs = [x.name, w]
    if bias and config.get("use_bias", True):
        inputs.append(g.weight(layer.name + "/bias", layer.bias, [kernel_shape[0]]))
    return g.node(
        "Conv",
        inputs,
        _op_name(layer, config) if bias else layer.name + "/depthwise",
        kernel_shape=list(k),
        strides=list(strides),
        dilations=list(dilations),
        pads=pads,
        group=group,
    )


@LAYERS.register("Conv2D")
def conv2d(g, layer, inputs, shapes):
    config = _config(layer)
    groups = int(config.get("groups", 1) or 1)
    kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
    name = _conv(g, layer, inputs[0], "kernel", layer.kernel, [cout, cin, kh, kw], _oihw, config, groups)
    return [_then_activation(g, layer, Value(name, shapes[0], True), config)]


def _oihw(kernel):
    return np.transpose(kernel, OIHW)


def _depthwise_kernel(layer):
    kernel = getattr(layer, "depthwise_kernel", None)  # tf_keras; Keras 3 calls it kernel
    return layer.kernel if kernel is None else kernel


def _depthwise_oihw(kernel):
    """(kh, kw, in, multiplier) -> (in * multiplier, 1, kh, kw): output channel c * m + j is input
    channel c through filter j, as Keras orders them."""
    kh, kw, cin, mult = kernel.shape
    return np.transpose(kernel, (2, 3, 0, 1)).reshape(cin * mult, 1, kh, kw)


@LAYERS.register("DepthwiseConv2D")
def depthwise_conv2d(g, layer, inputs, shapes):
    config = _config(layer)
    kernel = _depthwise_kernel(layer)
    kh, kw, cin, mult = (int(d) for d in kernel.shape)
    name = _conv(g, layer, inputs[0], "depthwise_kernel", kernel, [cin * mult, 1, kh, kw], _depthwise_oihw, config,
                 cin)  # fmt: skip
    return [_then_activation(g, layer, Value(name, shapes[0], True), config)]


@LAYERS.register("SeparableConv2D")
def separable_conv2d(g, layer, inputs, shapes):
    config = _config(layer)
    kh, kw, cin, mult = (int(d) for d in layer.depthwise_kernel.shape)
    depthwise = _conv(g, layer, inputs[0], "depthwise_kernel", layer.depthwise_kernel, [cin * mult, 1, kh, kw],
                      _depthwise_oihw, config, cin, bias=False)  # fmt: skip
    _, _, mid, cout = (int(d) for d in layer.pointwise_kernel.shape)
    w = g.weight(layer.name + "/pointwise_kernel", layer.pointwise_kernel, [cout, mid, 1, 1], _oihw)
    ins = [depthwise, w]
    if config.get("use_bias", True):
        ins.append(g.weight(layer.name + "/bias", layer.bias, [cout]))
    name = g.node("Conv", ins, _op_name(layer, config), kernel_shape=[1, 1])
    return [_then_activation(g, layer, Value(name, shapes[0], True), config)]


# -- normalization, dense -----------------------------------------------------------------------
@LAYERS.register("BatchNormalization")
def batch_normalization(g, layer, inputs, shapes):
    config = layer.get_config()
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    x = inputs[0]
    if not isinstance(axis, int) or axis % x.rank != x.rank - 1 or x.rank not in (2, 4):
        raise NotNative(layer, "normalization over axis %s" % (axis,))
    x = g.nchw(x)
    channels = int(layer.moving_mean.shape[0])
    ones = np.ones(channels, np.float32)
    gamma = g.weight(layer.name + "/gamma", layer.gamma, [channels]) if layer.gamma is not None else None
    beta = g.weight(layer.name + "/beta", layer.beta, [channels]) if layer.beta is not None else None
    ins = [
        gamma or g.constant(layer.name + "/gamma", ones),
        beta or g.constant(layer.name + "/beta", np.zeros(channels, np.float32)),
        g.weight(layer.name + "/moving_mean", layer.moving_mean, [channels]),
        g.weight(layer.name + "/moving_variance", layer.moving_variance, [channels]),
    ]
    name = g.node("BatchNormalization", [x.name] + ins, layer.name, epsilon=float(config["epsilon"]))
    return [Value(name, shapes[0], x.nchw)]


@LAYERS.register("Dense")
def dense(g, layer, inputs, shapes):
    config = layer.get_config()
    if config.get("lora_rank"):
        raise NotNative(layer, "a LoRA-adapted kernel")
    x = g.plain(inputs[0])
    units, fan_in = int(config["units"]), int(layer.kernel.shape[0])
    w = g.weight(layer.name + "/kernel", layer.kernel, [fan_in, units])
    op_name = _op_name(layer, config)
    if x.rank == 2:
        ins = [x.name, w]
        if config.get("use_bias", True):
            ins.append(g.weight(layer.name + "/bias", layer.bias, [units]))
        name = g.node("Gemm", ins, op_name)
    else:
        if config.get("use_bias", True):
            product = g.node("MatMul", [x.name, w], layer.name + "/matmul")
            name = g.node("Add", [product, g.weight(layer.name + "/bias", layer.bias, [units])], op_name)
        else:
            name = g.node("MatMul", [x.name, w], op_name)
    return [_then_activation(g, layer, Value(name, shapes[0]), config)]


# -- pooling ------------------------------------------------------------------------------------
def _pool(g, layer, inputs, shapes, op, **extra):
    config = _config(layer)
    size = _pair(config["pool_size"])
    strides = _pair(config.get("strides") or size)
    x = g.nchw(inputs[0])
    if x.rank != 4:
        raise NotNative(layer, "a rank %d input" % x.rank)
    pads = _pads(layer, x, size, strides, (1, 1), config["padding"])
    name = g.node(op, [x.name], layer.name, kernel_shape=list(size), strides=list(strides), pads=pads, **extra)
    return [Value(name, shapes[0], True)]


@LAYERS.register("MaxPooling2D")
def max_pooling2d(g, layer, inputs, shapes):
    return _pool(g, layer, inputs, shapes, "MaxPool")


@LAYERS.register("AveragePooling2D")
def average_pooling2d(g, layer, inputs, shapes):
    return _pool(g, layer, inputs, shapes, "AveragePool", count_include_pad=0)  # Keras averages inside only


def _global_pool(g, layer, inputs, shapes, op):
    config = _config(layer)
    x = g.nchw(inputs[0])
    if x.rank != 4:
        raise NotNative(layer, "a rank %d input" % x.rank)
    if config.get("keepdims"):
        return [Value(g.node(op, [x.name], layer.name), shapes[0], True)]
    pooled = g.node(op, [x.name], layer.name + "/pool")
    return [Value(g.node("Flatten", [pooled], layer.name, axis=1), shapes[0])]


@LAYERS.register("GlobalAveragePooling2D")
def global_average_pooling2d(g, layer, inputs, shapes):
    return _global_pool(g, layer, inputs, shapes, "GlobalAveragePool")


@LAYERS.register("GlobalMaxPooling2D")
def global_max_pooling2d(g, layer, inputs, shapes):
    return _global_pool(g, layer, inputs, shapes, "GlobalMaxPool")


@LAYERS.register("ZeroPadding2D")
def zero_padding2d(g, layer, inputs, shapes):
    config = _config(layer)
    (top, bottom), (left, right) = [_pair(p) for p in config["padding"]]
    x = g.nchw(inputs[0])
    pads = g.constant(layer.name + "/pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
    return [Value(g.node("Pad", [x.name, pads], layer.name), shapes[0], True)]


# -- shapes -------------------------------------------------------------------------------------
@LAYERS.register("Flatten")
def flatten(g, layer, inputs, shapes):
    _config(layer)
    x = g.plain(inputs[0])
    return [Value(g.node("Flatten", [x.name], layer.name, axis=1), shapes[0])]


@LAYERS.register("Reshape")
def reshape(g, layer, inputs, shapes):
    target = [int(d) for d in layer.get_config()["target_shape"]]
    x = g.plain(inputs[0])
    shape = g.constant(layer.name + "/shape", np.array([0] + target, np.int64))  # 0: the batch as it is
    return [Value(g.node("Reshape", [x.name, shape], layer.name), shapes[0])]


@LAYERS.register("Concatenate")
def concatenate(g, layer, inputs, shapes):
    axis = int(layer.get_config().get("axis", -1))
    if all(v.nchw for v in inputs):
        xs = inputs
    else:
        xs = [g.plain(v) for v in inputs]
    return [Value(g.node("Concat", [v.name for v in xs], layer.name, axis=xs[0].axis(axis)), shapes[0], xs[0].nchw)]


# -- merges and element-wise layers -------------------------------------------------------------
def _merge(g, layer, inputs, shapes, op):
    """An element-wise op of several values: 4-D ones all channels-first (broadcasting, as a
    squeeze-and-excitation gate of shape (N, 1, 1, C) does, is the same in either order), others
    in Keras's order."""
    if len({v.rank for v in inputs}) != 1:
        raise NotNative(layer, "inputs of different ranks")
    xs = [g.nchw(v) for v in inputs] if inputs[0].rank == 4 else [g.plain(v) for v in inputs]
    return [Value(g.node(op, [v.name for v in xs], layer.name), shapes[0], xs[0].nchw)]


@LAYERS.register("Add")
def add(g, layer, inputs, shapes):
    return _merge(g, layer, inputs, shapes, "Add" if len(inputs) == 2 else "Sum")


@LAYERS.register("Multiply")
def multiply(g, layer, inputs, shapes):
    if len(inputs) != 2:
        raise NotNative(layer, "%d inputs" % len(inputs))
    return _merge(g, layer, inputs, shapes, "Mul")


@LAYERS.register("Maximum")
def maximum(g, layer, inputs, shapes):
    return _merge(g, layer, inputs, shapes, "Max")


@LAYERS.register("Minimum")
def minimum(g, layer, inputs, shapes):
    return _merge(g, layer, inputs, shapes, "Min")


@LAYERS.register("Average")
def average(g, layer, inputs, shapes):
    return _merge(g, layer, inputs, shapes, "Mean")


@LAYERS.register("Subtract")
def subtract(g, layer, inputs, shapes):
    return _merge(g, layer, inputs, shapes, "Sub")


@LAYERS.register("Activation")
def activation(g, layer, inputs, shapes):
    return [_activate(g, layer, inputs[0], layer.name, layer.get_config().get("activation"))]


@LAYERS.register("Softmax")
def softmax(g, layer, inputs, shapes):
    axis = layer.get_config().get("axis", -1)
    if not isinstance(axis, int):
        raise NotNative(layer, "softmax over axes %s" % (axis,))
    return [_softmax(g, inputs[0], layer.name, axis)]


@LAYERS.register("ReLU")
def relu(g, layer, inputs, shapes):
    config = layer.get_config()
    top, slope = config.get("max_value"), float(config.get("negative_slope") or 0.0)
    if float(config.get("threshold") or 0.0) != 0.0:
        raise NotNative(layer, "a threshold")
    x = inputs[0]
    if top is None:
        if slope:
            return [Value(g.node("LeakyRelu", [x.name], layer.name, alpha=slope), x.shape, x.nchw)]
        return [Value(g.node("Relu", [x.name], layer.name), x.shape, x.nchw)]
    if slope:
        raise NotNative(layer, "a slope and a ceiling")
    lo, hi = g.constant(layer.name + "/min", np.float32(0)), g.constant(layer.name + "/max", np.float32(top))
    return [Value(g.node("Clip", [x.name, lo, hi], layer.name), x.shape, x.nchw)]


@LAYERS.register("LeakyReLU")
def leaky_relu(g, layer, inputs, shapes):
    config = layer.get_config()
    alpha = config.get("negative_slope", config.get("alpha", 0.3))
    x = inputs[0]
    return [Value(g.node("LeakyRelu", [x.name], layer.name, alpha=float(alpha)), x.shape, x.nchw)]


@LAYERS.register("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                 "ActivityRegularization")  # fmt: skip
def identity(g, layer, inputs, shapes):
    """Layers that change nothing at inference."""
    x = inputs[0]
    return [Value(g.node("Identity", [x.name], layer.name), x.shape, x.nchw)]


# -- preprocessing inside the model -------------------------------------------------------------
def _broadcast(g, name, array, value):
    """Constant `array` (broadcasting in Keras's axis order) for an element-wise op with `value`,
    and `value` in the order the constant fits."""
    array = np.asarray(array, np.float32)
    if array.size == 1:
        return g.constant(name, array.reshape(())), value
    return g.constant(name, array), g.plain(value)


@LAYERS.register("Rescaling")
def rescaling(g, layer, inputs, shapes):
    config = layer.get_config()
    scale, x = _broadcast(g, layer.name + "/scale", config["scale"], inputs[0])
    offset, x = _broadcast(g, layer.name + "/offset", config["offset"], x)
    product = g.node("Mul", [x.name, scale], layer.name + "/scaled")
    return [Value(g.node("Add", [product, offset], layer.name), shapes[0], x.nchw)]


@LAYERS.register("Normalization")
def normalization(g, layer, inputs, shapes):
    """(x - mean) / max(sqrt(variance), epsilon), as Keras computes it from the layer's state."""
    if layer.get_config().get("invert"):
        raise NotNative(layer, "invert=True")
    mean = np.asarray(layer.mean, np.float32)
    denominator = np.maximum(np.sqrt(np.asarray(layer.variance, np.float32)), np.float32(1e-7))
    x = g.plain(inputs[0])
    centred = g.node("Sub", [x.name, g.constant(layer.name + "/mean", mean)], layer.name + "/centred")
    scale = g.constant(layer.name + "/denominator", denominator)
    return [Value(g.node("Div", [centred, scale], layer.name), shapes[0])]


@LAYERS.register("Cropping2D")
def cropping2d(g, layer, inputs, shapes):
    config = _config(layer)
    (top, bottom), (left, right) = [_pair(p) for p in config["cropping"]]
    x = g.nchw(inputs[0])
    big = np.iinfo(np.int64).max
    starts = g.constant(layer.name + "/starts", np.array([top, left], np.int64))
    ends = g.constant(layer.name + "/ends", np.array([-bottom if bottom else big, -right if right else big], np.int64))
    axes = g.constant(layer.name + "/axes", np.array([2, 3], np.int64))
    return [Value(g.node("Slice", [x.name, starts, ends, axes], layer.name), shapes[0], True)]

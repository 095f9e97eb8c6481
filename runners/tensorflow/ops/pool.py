"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool."""

import numpy as np

from runners.common.codegen import explicit_pads

from ..codegen import EMIT, channels_last, pair
from ._spatial import ceil_extra, is_tf_same, value_pad, zero_pad


def _setup(node, ctx, kernel_shape, strides, dilations, pads, auto_pad):
    n = len(kernel_shape)
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D pooling has no Keras layer" % n)
    kernel = list(kernel_shape)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    if any(d != 1 for d in dilations):
        raise ctx.fail("dilated pooling has no Keras layer")
    p = explicit_pads(ctx, node.inputs[0], kernel, strides, dilations, pads, auto_pad)
    return n, kernel, strides, dilations, p[:n], p[n:]


def _ctor(kind, n, kernel, strides, padding):
    opts = "pool_size=%s, strides=%s" % (pair(kernel), pair(strides))
    if padding != "valid":
        opts += ", padding=%r" % padding
    return "layers.%sPooling%dD(%s)" % (kind, n, opts)


@EMIT.register("MaxPool", since=12)
def max_pool(
    node,
    ctx,
    auto_pad="NOTSET",
    ceil_mode=0,
    dilations=None,
    kernel_shape=None,
    pads=None,
    storage_order=0,
    strides=None,
):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool indices output is not supported")
    x = node.inputs[0]
    n, kernel, strides, dilations, begins, ends = _setup(node, ctx, kernel_shape, strides, dilations, pads, auto_pad)
    if ceil_mode:
        ends = [e + c for e, c in zip(ends, ceil_extra(ctx, x, kernel, strides, dilations, begins, ends))]
    cl = channels_last(n + 2)
    src = ctx.x(x, cl)
    padding = "valid"
    if any(begins) or any(ends):
        if is_tf_same(ctx, x, kernel, strides, dilations, begins, ends):
            padding = "same"  # TensorFlow's 'same' max pooling ignores the padding, as ONNX does
        else:
            src = value_pad(ctx, src, begins, ends, float("-inf"), ctx.weight_hint(node) + "_pad")
    ctx.layer(node, _ctor("Max", n, kernel, strides, padding), [src], cl, outputs=node.outputs[:1])


@EMIT.register("AveragePool", since=11)
def average_pool(
    node,
    ctx,
    auto_pad="NOTSET",
    ceil_mode=0,
    count_include_pad=0,
    kernel_shape=None,
    pads=None,
    strides=None,
    dilations=None,
):
    x = node.inputs[0]
    n, kernel, strides, dilations, begins, ends = _setup(node, ctx, kernel_shape, strides, dilations, pads, auto_pad)
    extra = ceil_extra(ctx, x, kernel, strides, dilations, begins, ends) if ceil_mode else [0] * n
    cl = channels_last(n + 2)
    src = ctx.x(x, cl)
    hint = ctx.weight_hint(node)
    if not any(begins + ends + extra):
        ctx.layer(node, _ctor("Average", n, kernel, strides, "valid"), [src], cl)
        return
    if not count_include_pad and not any(extra) and is_tf_same(ctx, x, kernel, strides, dilations, begins, ends):
        ctx.layer(node, _ctor("Average", n, kernel, strides, "same"), [src], cl)
        return
    # zero padding, then a correction for windows whose divisor is not the kernel size
    shape = ctx.need_shape(x)[2:]
    ones = np.zeros([s + b + e + c for s, b, e, c in zip(shape, begins, ends, extra)], np.float32)
    counted = ones.copy()
    inner = tuple(slice(b, b + s) for b, s in zip(begins, shape))
    ones[inner] = 1.0
    padded = tuple(slice(0, b + s + e) for b, s, e in zip(begins, shape, ends))
    counted[padded] = 1.0 if count_include_pad else 0.0
    counted[inner] = 1.0
    src = zero_pad(node, ctx, src, begins, [e + c for e, c in zip(ends, extra)], hint + "_pad")
    name = ctx.layer(node, _ctor("Average", n, kernel, strides, "valid"), [src], cl)
    size = float(np.prod(kernel))
    windows = _window_sums(counted, kernel, strides)
    if np.allclose(windows, size):
        return
    scale = (size / windows).reshape((1,) + windows.shape + (1,)).astype(np.float32)
    key = "const/%s_divisor" % name
    ctx.weights[key] = scale
    pooled = ctx.x(node.outputs[0], cl)
    ctx.assign(node, "keras.ops.multiply(%s, W[%r])" % (pooled, key), cl)


def _window_sums(a, kernel, strides):
    out_shape = [(s - k) // st + 1 for s, k, st in zip(a.shape, kernel, strides)]
    out = np.zeros(out_shape, np.float32)
    for idx in np.ndindex(*out_shape):
        window = tuple(slice(i * st, i * st + k) for i, st, k in zip(idx, strides, kernel))
        out[idx] = a[window].sum()
    return out


def _global(node, ctx, kind):
    x = node.inputs[0]
    rank = ctx.rank(x)
    if rank not in (3, 4, 5):
        raise ctx.fail("global pooling of a rank-%s tensor" % rank)
    cl = channels_last(rank)
    ctor = "layers.Global%sPooling%dD(keepdims=True)" % (kind, rank - 2)
    ctx.layer(node, ctor, [ctx.x(x, cl)], cl)


@EMIT.register("GlobalAveragePool", since=1)
def global_average_pool(node, ctx):
    _global(node, ctx, "Average")


@EMIT.register("GlobalMaxPool", since=1)
def global_max_pool(node, ctx):
    _global(node, ctx, "Max")

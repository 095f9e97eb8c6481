"""Normalizations: BatchNormalization (inference), InstanceNormalization and LayerNormalization as
their Keras layers; LRN and LpNormalization with keras.ops."""

import numpy as np

from ..codegen import EMIT, channels_last, identity, lit


def _channel_layout(rank):
    return channels_last(rank) if rank > 2 else identity(rank)


@EMIT.register("BatchNormalization")
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode batch normalization has no inference form")
    x = node.inputs[0]
    params = [
        np.asarray(ctx.need_const(node, i, what), np.float32)
        for i, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance"))
    ]
    layout = _channel_layout(ctx.need_rank(x))
    ctor = "layers.BatchNormalization(axis=-1, epsilon=%s)" % lit(float(epsilon))
    ctx.layer(node, ctor, [ctx.x(x, layout)], layout, params=params, outputs=node.outputs[:1])


@EMIT.register("InstanceNormalization")
def instance_norm(node, ctx, epsilon=1e-5):
    """layers.GroupNormalization with one group per channel."""
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    if rank < 3:
        raise ctx.fail("InstanceNormalization needs an [N, C, ...] input")
    channels = ctx.need_shape(x)[1]
    params = [np.asarray(ctx.need_const(node, i, what), np.float32) for i, what in ((1, "scale"), (2, "bias"))]
    layout = channels_last(rank)
    ctor = "layers.GroupNormalization(groups=%d, axis=-1, epsilon=%s)" % (channels, lit(float(epsilon)))
    ctx.layer(node, ctor, [ctx.x(x, layout)], layout, params=params)


@EMIT.register("LayerNormalization")
def layer_norm(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    """layers.LayerNormalization over the axes from `axis` on, in the IR order; with its Mean and
    InvStdDev outputs read, or a scale computed at run time, the same formula in keras.ops."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    rank = len(shape)
    axes = list(range(axis % rank, rank))
    normalized = [shape[a] for a in axes]
    scale, bias = ctx.const(node.inputs[1]), ctx.const(node.input(2))
    if any(o for o in node.outputs[1:]) or scale is None or (node.input(2) and bias is None):
        _layer_norm_ops(node, ctx, axes, epsilon, stash_type)
        return
    params = [np.broadcast_to(np.asarray(scale, np.float32), normalized)]
    if node.input(2):
        params.append(np.broadcast_to(np.asarray(bias, np.float32), normalized))
    opts = "axis=%s, epsilon=%s%s" % (lit(axes), lit(float(epsilon)), "" if node.input(2) else ", center=False")
    ctx.layer(node, "layers.LayerNormalization(%s)" % opts, [ctx.x(x)], identity(rank), params=params,
              outputs=node.outputs[:1])  # fmt: skip


def _layer_norm_ops(node, ctx, axes, epsilon, stash_type):
    x = node.inputs[0]
    rank = len(ctx.need_shape(x))
    dtype = ctx.dtype(x)
    hint = ctx.weight_hint(node)
    var = ctx.x(x)
    stashed = stash_type == 1 and dtype is not None and dtype != np.float32
    if stashed:
        var = ctx.temp("keras.ops.cast(%s, 'float32')" % var, hint + "_f32")
    r = "axis=%s, keepdims=True" % lit(tuple(axes))
    mean = ctx.temp("keras.ops.mean(%s, %s)" % (var, r), hint + "_mean")
    centred = ctx.temp("%s - %s" % (var, mean), hint + "_centred")
    inv = ctx.temp("keras.ops.rsqrt(keras.ops.mean(keras.ops.square(%s), %s) + %s)" % (centred, r, lit(float(epsilon))),
                   hint + "_inv_std")  # fmt: skip
    y = "%s * %s" % (centred, inv)
    if stashed:
        y = "keras.ops.cast(%s, %r)" % (y, dtype.name)
    operands = [ctx.constant(i) if ctx.const(i) is not None else ctx.x(i) for i in node.inputs[1:3] if i]
    y = " + ".join(["%s * %s" % (y, operands[0])] + operands[1:])
    outs = node.outputs
    ctx.assign(node, y, identity(rank), outputs=outs[:1])
    for out, value in zip(outs[1:], (mean, inv)):
        if out:
            ctx.bind(out, value, identity(rank))


@EMIT.register("LpNormalization")
def lp_norm(node, ctx, axis=-1, p=2):
    """x / its L1 or L2 norm along `axis` (0 where the norm is 0, as ONNX's reference has it)."""
    var, layout = ctx.any(node.inputs[0])
    a = layout.index(axis % len(layout))
    if p == 1:
        norm = "keras.ops.sum(keras.ops.abs(%s), axis=%d, keepdims=True)" % (var, a)
    elif p == 2:
        norm = "keras.ops.sqrt(keras.ops.sum(keras.ops.square(%s), axis=%d, keepdims=True))" % (var, a)
    else:
        raise ctx.fail("LpNormalization with p=%d (ONNX defines 1 and 2)" % p)
    norm = ctx.temp(norm, ctx.weight_hint(node) + "_norm")
    ctx.assign(node, "keras.ops.where(keras.ops.equal(%s, 0), 0.0, %s / %s)" % (norm, var, norm), layout)


@EMIT.register("LRN")
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    """Keras has no LRN layer: the sum of squares over each channel's window is one matmul with a
    0/1 band matrix over the (last, stored) channel axis. ONNX's window around channel c runs from
    c - floor((size-1)/2) to c + ceil((size-1)/2), clipped to the channels."""
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    if len(shape) < 3:
        raise ctx.fail("LRN needs an [N, C, ...] input")
    channels, size = int(shape[1]), int(size)
    before = (size - 1) // 2
    after = size - 1 - before
    band = np.zeros((channels, channels), np.float32)
    for c in range(channels):
        band[max(0, c - before) : min(channels, c + after + 1), c] = 1.0
    key = ctx.store_const("%s_lrn_window" % ctx.weight_hint(node), band)
    layout = channels_last(len(shape))
    src = ctx.x(x, layout)
    sums = "keras.ops.matmul(keras.ops.square(%s), W[%r])" % (src, key)
    scale = "%s + %s * %s" % (lit(float(bias)), lit(float(alpha) / size), sums)
    ctx.assign(node, "%s / keras.ops.power(%s, %s)" % (src, scale, lit(float(beta))), layout)

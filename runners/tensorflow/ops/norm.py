"""BatchNormalization (inference) as layers.BatchNormalization on the channel axis; LRN with keras.ops."""

import numpy as np

from ..codegen import EMIT, channels_last, lit


@EMIT.register("BatchNormalization", since=15)
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode batch normalization cannot be emitted")
    x = node.inputs[0]
    rank = ctx.rank(x) or 4
    params = [
        np.asarray(ctx.need_const(node, i, what), np.float32)
        for i, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance"))
    ]
    layout = channels_last(rank) if rank > 2 else (0, 1)
    ctor = "layers.BatchNormalization(axis=-1, epsilon=%s)" % lit(float(epsilon))
    ctx.layer(node, ctor, [ctx.x(x, layout)], layout, params=params, outputs=node.outputs[:1])


@EMIT.register("LRN", since=13)
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
    key = "const/%s_lrn_window" % ctx.weight_hint(node)
    ctx.weights[key] = band
    layout = channels_last(len(shape))
    src = ctx.x(x, layout)
    sums = "keras.ops.matmul(keras.ops.square(%s), W[%r])" % (src, key)
    scale = "%s + %s * %s" % (lit(float(bias)), lit(float(alpha) / size), sums)
    ctx.assign(node, "%s / keras.ops.power(%s, %s)" % (src, scale, lit(float(beta))), layout)

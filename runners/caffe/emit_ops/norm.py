"""BatchNormalization -> BatchNorm (global statistics, factor 1) + Scale (gamma, beta); LRN;
InstanceNormalization and LayerNormalization as MVN (mean removed), a Reduction for the variance
and a Scale by its inverse square root; LpNormalization as a Reduction and a Scale."""

import numpy as np

from ..emit import EMIT
from ._common import eltwise, permute, power, reshape


@EMIT.register("BatchNormalization")
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("BatchNormalization in training mode")
    gamma, beta, mean, var = (ctx.need_const(node, i, what) for i, what in
                              enumerate(("the scale", "the bias", "the mean", "the variance"), start=1))  # fmt: skip
    normed = ctx.temp("normalized")
    bn = ctx.layer("BatchNorm", [ctx.blob(node.inputs[0])], [normed])
    bn.batch_norm_param.use_global_stats = True
    bn.batch_norm_param.eps = epsilon
    for blob in (mean, var, np.ones(1)):
        ctx.add_blob(bn, blob)
    _affine(ctx, normed, 1, 1, gamma, beta, node.outputs[0])


def _affine(ctx, x, axis, num_axes, gamma, beta, top):
    layer = ctx.layer("Scale", [x], [top])
    layer.scale_param.axis, layer.scale_param.num_axes = axis, num_axes
    layer.scale_param.bias_term = beta is not None
    ctx.add_blob(layer, gamma)
    if beta is not None:
        ctx.add_blob(layer, beta)
    return top


@EMIT.register("LRN")
def lrn(node, ctx, size=1, alpha=0.0001, beta=0.75, bias=1.0):
    if size % 2 == 0:
        raise ctx.fail("LRN size %d; Caffe's window is centred (odd sizes)" % size)
    layer = ctx.layer("LRN", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    p = layer.lrn_param
    p.local_size, p.alpha, p.beta, p.k = size, alpha, beta, bias


def _standardize(ctx, x, shape, axis, epsilon, stats=None):
    """(x - mean) / sqrt(var + epsilon) over the axes from `axis` on: a 3-D view [1, outer, inner]
    whose MVN removes the mean of each row, a Reduction MEAN of the squares, a Power and a Scale.
    `stats` (mean, inverse standard deviation, their shape) names the blobs that also keep those."""
    outer, inner = int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))
    rows = reshape(ctx, x, [1, outer, inner], ctx.temp("rows"))
    centered = ctx.layer("MVN", [rows], [ctx.temp("centered")])
    centered.mvn_param.normalize_variance = False
    centered = centered.top[0]
    squares = power(ctx, centered, ctx.temp("squares"), power=2.0)
    var = ctx.layer("Reduction", [squares], [ctx.temp("variance")])
    var.reduction_param.operation = var.reduction_param.MEAN
    var.reduction_param.axis = 2
    inverse = power(ctx, var.top[0], ctx.temp("inverse_std"), power=-0.5, shift=epsilon)
    scaled = ctx.layer("Scale", [centered, inverse], [ctx.temp("standardized")])
    scaled.scale_param.axis = 0
    if stats:
        mean_top, inverse_top, kept = stats
        if mean_top:
            mean = ctx.layer("Reduction", [rows], [ctx.temp("mean")])
            mean.reduction_param.operation, mean.reduction_param.axis = mean.reduction_param.MEAN, 2
            reshape(ctx, mean.top[0], kept, mean_top)
        if inverse_top:
            reshape(ctx, inverse, kept, inverse_top)
    return reshape(ctx, scaled.top[0], shape, ctx.temp("normalized"))


@EMIT.register("InstanceNormalization")
def instance_normalization(node, ctx, epsilon=1e-5):
    shape = ctx.need_shape(node.inputs[0])
    gamma, beta = ctx.need_const(node, 1, "the scale"), ctx.need_const(node, 2, "the bias")
    normed = _standardize(ctx, ctx.blob(node.inputs[0]), shape, 2, epsilon)
    _affine(ctx, normed, 1, 1, gamma, beta, node.outputs[0])


@EMIT.register("LayerNormalization")
def layer_normalization(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    shape = ctx.need_shape(node.inputs[0])
    axis = axis + len(shape) if axis < 0 else axis
    gamma = ctx.need_const(node, 1, "the scale")
    beta = ctx.need_const(node, 2, "the bias") if node.input(2) else None
    own = shape[axis:]
    gamma = np.broadcast_to(gamma, own)
    beta = np.broadcast_to(beta, own) if beta is not None else None
    extra = node.outputs[1:] + ["", ""]
    kept = shape[:axis] + [1] * len(own)
    normed = _standardize(ctx, ctx.blob(node.inputs[0]), shape, axis, epsilon, (extra[0], extra[1], kept))
    _affine(ctx, normed, axis, len(own), gamma, beta, node.outputs[0])


@EMIT.register("LpNormalization")
def lp_normalization(node, ctx, axis=-1, p=2):
    if p not in (1, 2):
        raise ctx.fail("LpNormalization with p=%d" % p)
    shape = ctx.need_shape(node.inputs[0])
    rank = len(shape)
    axis = axis + rank if axis < 0 else axis
    order = [a for a in range(rank) if a != axis] + [axis]
    x = ctx.blob(node.inputs[0])
    if order != list(range(rank)):
        x = permute(ctx, x, order, ctx.temp("axis_last"))
    norm = ctx.layer("Reduction", [x], [ctx.temp("norm")])
    norm.reduction_param.operation = norm.reduction_param.SUMSQ if p == 2 else norm.reduction_param.ASUM
    norm.reduction_param.axis = rank - 1
    # a zero vector stays zero (ONNX): 1 is added to the norms that are 0, which Threshold finds
    nonzero = ctx.layer("Threshold", [norm.top[0]], [ctx.temp("nonzero")]).top[0]
    safe = eltwise(ctx, "SUM", [norm.top[0], power(ctx, nonzero, ctx.temp("zero"), scale=-1.0, shift=1.0)],
                   ctx.temp("safe_norm"))  # fmt: skip
    inverse = power(ctx, safe, ctx.temp("inverse_norm"), power=-0.5 if p == 2 else -1.0)
    last = node.outputs[0] if order == list(range(rank)) else ctx.temp("normalized")
    scaled = ctx.layer("Scale", [x, inverse], [last])
    scaled.scale_param.axis = 0
    if last != node.outputs[0]:
        permute(ctx, last, list(np.argsort(order)), node.outputs[0])

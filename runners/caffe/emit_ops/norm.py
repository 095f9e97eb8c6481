"""BatchNormalization -> BatchNorm (global statistics, factor 1) + Scale (gamma, beta); LRN."""

import numpy as np

from ..emit import EMIT
from ._common import weight


@EMIT.register("BatchNormalization")
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("BatchNormalization in training mode")
    gamma, beta, mean, var = (weight(ctx, v, w) for v, w in zip(node.inputs[1:5], ("scale", "bias", "mean", "var")))
    normed = ctx.temp("normalized")
    bn = ctx.layer("BatchNorm", [ctx.blob(node.inputs[0])], [normed])
    bn.batch_norm_param.use_global_stats = True
    bn.batch_norm_param.eps = epsilon
    for blob in (mean, var, np.ones(1)):
        ctx.add_blob(bn, blob)
    scale = ctx.layer("Scale", [normed], [node.outputs[0]], name=bn.name + "/scale")
    scale.scale_param.bias_term = True
    ctx.add_blob(scale, gamma)
    ctx.add_blob(scale, beta)


@EMIT.register("LRN")
def lrn(node, ctx, size=1, alpha=0.0001, beta=0.75, bias=1.0):
    if size % 2 == 0:
        raise ctx.fail("LRN size %d; Caffe needs an odd size" % size)
    layer = ctx.layer("LRN", [ctx.blob(node.inputs[0])], [node.outputs[0]])
    p = layer.lrn_param
    p.local_size, p.alpha, p.beta, p.k = size, alpha, beta, bias

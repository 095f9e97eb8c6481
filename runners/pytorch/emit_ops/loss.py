"""Losses: NegativeLogLikelihoodLoss (F.nll_loss), SoftmaxCrossEntropyLoss (F.cross_entropy)."""

import numpy as np

from ..codegen import EMIT


def _options(node, ctx, weight, reduction, ignore_index):
    if reduction not in ("none", "sum", "mean"):
        raise ctx.fail("loss reduction %r" % reduction)
    opts = ""
    if weight:
        opts += ", weight=%s" % ctx.x(weight)
    if ignore_index is not None:  # without one, ONNX ignores no class (torch's default ignores -100)
        opts += ", ignore_index=%d" % ignore_index
    if reduction != "mean":
        opts += ", reduction=%r" % reduction
    return opts


def _target(ctx, name):
    v = ctx.x(name)
    return v if ctx.dtype(name) == np.int64 else "%s.long()" % v


@EMIT.register("NegativeLogLikelihoodLoss")
def nll_loss(node, ctx, reduction="mean", ignore_index=None):
    x, target = node.input(0), node.input(1)
    opts = _options(node, ctx, node.input(2), reduction, ignore_index)
    ctx.assign(node, "F.nll_loss(%s, %s%s)" % (ctx.x(x), _target(ctx, target), opts))


@EMIT.register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(node, ctx, reduction="mean", ignore_index=None):
    scores, labels = node.input(0), node.input(1)
    opts = _options(node, ctx, node.input(2), reduction, ignore_index)
    if len(node.outputs) < 2 or not node.outputs[1]:
        ctx.assign(node, "F.cross_entropy(%s, %s%s)" % (ctx.x(scores), _target(ctx, labels), opts))
        return
    ctx.assign(node, "F.log_softmax(%s, dim=1)" % ctx.x(scores), outputs=node.outputs[1:2])
    log_prob = ctx.x(node.outputs[1])
    ctx.assign(node, "F.nll_loss(%s, %s%s)" % (log_prob, _target(ctx, labels), opts), outputs=node.outputs[:1])

"""NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss: the picked (log-)probabilities of the
targets, weighted, with ignored targets left out, and reduced as ONNX defines."""

from ..codegen import EMIT


def _nll(node, ctx, log_prob, target, weight, ignore_index, reduction):
    """The loss expression of picking `log_prob` (N, C, d...) at `target` (N, d...)."""
    dtype = ctx.held_dtype(node.input(0))
    t = ctx.x(target)
    w = None
    if ignore_index is not None:
        keep = ctx.temp("(%s != %d)" % (t, ignore_index), "keep")
        t = ctx.temp(ctx.call("where", keep, t, ctx.call("zeros_like", t)), "target")
        w = ctx.temp(ctx.call("cast", keep, dtype=dtype), "kept")
    picked = ctx.call("pick", log_prob, ctx.call("cast", t, dtype=dtype), axis=1)
    loss = ctx.temp(ctx.call("negative", picked), "loss")
    if weight:
        gathered = ctx.call("take", ctx.x(weight), t, axis=0)
        w = ctx.temp(ctx.call("elemwise_mul", gathered, w) if w else gathered, "weight")
    if w:
        loss = ctx.temp(ctx.call("elemwise_mul", loss, w), "weighted")
    if reduction == "none":
        return ctx.call("identity", loss)
    if reduction == "sum":
        return ctx.call("sum", loss)
    if reduction != "mean":
        raise ctx.fail("reduction=%s is not an ONNX reduction" % reduction)
    if w:
        return ctx.call("broadcast_div", ctx.call("sum", loss), ctx.call("sum", w))
    return ctx.call("mean", loss)


@EMIT.register("NegativeLogLikelihoodLoss")
def nll_loss(node, ctx, ignore_index=None, reduction="mean"):
    expr = _nll(node, ctx, ctx.x(node.input(0)), node.input(1), node.input(2), ignore_index, reduction)
    ctx.assign(node, expr)


@EMIT.register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy(node, ctx, ignore_index=None, reduction="mean"):
    log_prob = ctx.temp(ctx.call("log_softmax", ctx.x(node.input(0)), axis=1), "log_prob")
    ctx.assign(node, _nll(node, ctx, log_prob, node.input(1), node.input(2), ignore_index, reduction))
    if len(node.outputs) > 1 and node.outputs[1]:
        ctx.assign(node, ctx.call("identity", log_prob), output=node.outputs[1])

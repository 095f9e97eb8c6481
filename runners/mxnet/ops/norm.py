"""BatchNormalization, InstanceNormalization, LRN."""

from ..codegen import EMIT


@EMIT.register("BatchNormalization", since=9)
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode BatchNormalization cannot be emitted for inference")
    x, scale, bias, mean, var = (node.input(i) for i in range(5))
    expr = ctx.call(
        "BatchNorm",
        ctx.x(x),
        ctx.x(scale),
        ctx.x(bias),
        ctx.x(mean),
        ctx.x(var),
        eps=float(epsilon),
        fix_gamma=False,
        use_global_stats=True,
    )
    ctx.assign(node, expr)


@EMIT.register("InstanceNormalization", since=6)
def instance_norm(node, ctx, epsilon=1e-5):
    expr = ctx.call("InstanceNorm", ctx.x(node.input(0)), ctx.x(node.input(1)), ctx.x(node.input(2)), eps=epsilon)
    ctx.assign(node, expr)


@EMIT.register("LRN", since=1)
def lrn(node, ctx, alpha=1e-4, beta=0.75, bias=1.0, size=None):
    ctx.assign(node, ctx.call("LRN", ctx.x(node.input(0)), alpha=alpha, beta=beta, knorm=bias, nsize=size))

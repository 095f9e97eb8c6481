"""BatchNormalization, InstanceNormalization, LRN, LpNormalization (p=2 over the channels of an
[N, F] value)."""

from ..context import EMIT, float32


def _channels(node, ctx, indices):
    return [float32(ctx.need_const(node, i, "the normalization parameter")) for i in indices]


@EMIT.register("BatchNormalization")
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode batch normalization is not converted")
    gamma, beta, mean, var = _channels(node, ctx, (1, 2, 3, 4))
    ctx.builder.add_batchnorm(
        ctx.layer(node),
        channels=gamma.shape[0],
        gamma=gamma,
        beta=beta,
        mean=mean,
        variance=var,
        input_name=ctx.feature(node.inputs[0]),
        output_name=ctx.out(node),
        epsilon=epsilon,
    )


@EMIT.register("InstanceNormalization")
def instance_normalization(node, ctx, epsilon=1e-5):
    gamma, beta = _channels(node, ctx, (1, 2))
    if ctx.need_rank(node.inputs[0]) != 4:
        raise ctx.fail("instance normalization of a rank-%d value is not converted" % ctx.rank(node.inputs[0]))
    ctx.builder.add_batchnorm(
        ctx.layer(node),
        channels=gamma.shape[0],
        gamma=gamma,
        beta=beta,
        input_name=ctx.feature(node.inputs[0]),
        output_name=ctx.out(node),
        compute_mean_var=True,
        instance_normalization=True,
        epsilon=epsilon,
    )


@EMIT.register("LRN")
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    if size % 2 == 0:
        raise ctx.fail("LRN over an even number of channels is rewritten by the broker before this emitter")
    ctx.builder.add_lrn(
        ctx.layer(node), ctx.feature(node.inputs[0]), ctx.out(node), alpha=alpha, beta=beta, local_size=size, k=bias
    )

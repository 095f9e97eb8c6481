"""BatchNormalization, InstanceNormalization, LRN."""

from ..context import EMIT, float32


def _consts(node, ctx, indices):
    values = [ctx.const(node.input(i)) for i in indices]
    if any(v is None for v in values):
        raise ctx.fail("normalization parameters computed at run time have no CoreML equivalent")
    return [float32(v) for v in values]


@EMIT.register("BatchNormalization", since=15)
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode batch normalization is not converted")
    gamma, beta, mean, var = _consts(node, ctx, (1, 2, 3, 4))
    ctx.builder.add_batchnorm(
        ctx.layer(node),
        channels=gamma.shape[0],
        gamma=gamma,
        beta=beta,
        mean=mean,
        variance=var,
        input_name=ctx.feature(node.input(0)),
        output_name=ctx.out(node),
        epsilon=epsilon,
    )


@EMIT.register("InstanceNormalization", since=6)
def instance_normalization(node, ctx, epsilon=1e-5):
    gamma, beta = _consts(node, ctx, (1, 2))
    ctx.builder.add_batchnorm(
        ctx.layer(node),
        channels=gamma.shape[0],
        gamma=gamma,
        beta=beta,
        input_name=ctx.feature(node.input(0)),
        output_name=ctx.out(node),
        compute_mean_var=True,
        instance_normalization=True,
        epsilon=epsilon,
    )


@EMIT.register("LRN", since=13)
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    ctx.builder.add_lrn(
        ctx.layer(node), ctx.feature(node.input(0)), ctx.out(node), alpha=alpha, beta=beta, local_size=size, k=bias
    )

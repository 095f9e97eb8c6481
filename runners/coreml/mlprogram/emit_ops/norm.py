"""BatchNormalization, InstanceNormalization, LayerNormalization, LRN and LpNormalization as MIL
ops."""

import numpy as np

from ..common import TO_MIL
from ._common import f32, named


def _params(node, ctx, indices):
    return [f32(ctx.need_const(node, i, "the normalization parameter")) for i in indices]


@TO_MIL.register("BatchNormalization")
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    from coremltools.converters.mil import Builder as mb

    if training_mode:
        raise ctx.fail("training-mode batch normalization is not converted")
    scale, bias, mean, var = _params(node, ctx, (1, 2, 3, 4))
    ctx.set(
        node,
        mb.batch_norm(
            x=ctx.var(node.inputs[0]),
            mean=mean,
            variance=var,
            gamma=scale,
            beta=bias,
            epsilon=np.float32(epsilon),
            name=ctx.out(node),
        ),
    )


@TO_MIL.register("InstanceNormalization")
def instance_normalization(node, ctx, epsilon=1e-5):
    from coremltools.converters.mil import Builder as mb

    gamma, beta = _params(node, ctx, (1, 2))
    rank = ctx.need_rank(node.inputs[0])
    if rank not in (3, 4):
        raise ctx.fail("instance normalization of a rank-%d value has no MIL instance_norm (rank 3 or 4)" % rank)
    ctx.set(
        node,
        mb.instance_norm(
            x=ctx.var(node.inputs[0]), gamma=gamma, beta=beta, epsilon=np.float32(epsilon), name=ctx.out(node)
        ),
    )


@TO_MIL.register("LayerNormalization")
def layer_normalization(node, ctx, axis=-1, epsilon=1e-5, stash_type=1):
    from coremltools.converters.mil import Builder as mb

    if len(node.outputs) > 1 and any(node.outputs[1:]):
        raise ctx.fail("LayerNormalization's mean and inverse deviation outputs have no MIL equivalent")
    rank = ctx.need_rank(node.inputs[0])
    axes = list(range(axis % rank, rank))
    normalized_shape = ctx.shape(node.inputs[0])[axes[0] :]
    if any(d is None or d <= 0 for d in normalized_shape):
        raise ctx.fail("LayerNormalization over a free size is not converted", reference="missing-input-shape")
    kw = {}
    scale = ctx.need_const(node, 1, "the scale")
    kw["gamma"] = f32(np.broadcast_to(scale, normalized_shape))
    if node.input(2):
        kw["beta"] = f32(np.broadcast_to(ctx.need_const(node, 2, "the bias"), normalized_shape))
    ctx.set(
        node, mb.layer_norm(x=ctx.var(node.inputs[0]), axes=axes, epsilon=np.float32(epsilon), name=ctx.out(node), **kw)
    )


@TO_MIL.register("LRN")
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    from coremltools.converters.mil import Builder as mb

    if size % 2 == 0:
        raise ctx.fail("LRN over an even number of channels is rewritten by the broker before this emitter")
    ctx.set(
        node,
        mb.local_response_norm(
            x=ctx.var(node.inputs[0]),
            size=int(size),
            alpha=np.float32(alpha),
            beta=np.float32(beta),
            k=np.float32(bias),
            name=ctx.out(node),
        ),
    )


@TO_MIL.register("LpNormalization")
def lp_normalization(node, ctx, axis=-1, p=2):
    """x / ||x||_p over one axis: the norm (reduce_l1_norm / reduce_l2_norm, kept) and a real_div
    by it, with 1 for a norm of 0 (a zero vector stays zero, as in ONNX's reference)."""
    from coremltools.converters.mil import Builder as mb

    if p not in (1, 2):
        raise ctx.fail("LpNormalization with p=%d has no MIL reduction (p 1 or 2)" % p)
    rank = ctx.need_rank(node.inputs[0])
    x = ctx.var(node.inputs[0])
    norm = getattr(mb, "reduce_l%d_norm" % p)(
        x=x, axes=[int(axis) % rank], keep_dims=True, name=named(ctx, node, False)
    )
    zero = mb.equal(x=norm, y=np.float32(0), name=named(ctx, node, False))
    divisor = mb.select(cond=zero, a=np.float32(1), b=norm, name=named(ctx, node, False))
    ctx.set(node, mb.real_div(x=x, y=divisor, name=ctx.out(node)))

"""Flatten, Reshape, Squeeze, Unsqueeze between [N, C, H, W] and [N, F] values.

In CoreML's rank-5 layout an [N, F] value is the blob (F, 1, 1), so [N, C, 1, 1] <-> [N, C] needs no
layer; [N, C, H, W] -> [N, C*H*W] is a channel-first flatten layer and [N, ...] -> [N, C, H, W] a
channel-first reshape layer.
"""

from ..context import EMIT


def _to(node, ctx):
    x, y = node.input(0), ctx.out(node)
    sx, sy = ctx.shape(x), ctx.shape(y)
    if sx is None or sy is None or any(d is None for d in sx + sy):
        raise ctx.fail("the shapes of this reshape are unknown", hint="give --inputShape")
    if len(sx) not in (2, 4) or len(sy) not in (2, 4) or sx[0] != sy[0]:
        raise ctx.fail(
            "reshape %s -> %s: CoreML's layers keep the batch and hold [N, C, H, W] or [N, F] values" % (sx, sy)
        )
    chw_x = list(sx[1:]) + [1] * (4 - len(sx))
    chw_y = list(sy[1:]) + [1] * (4 - len(sy))
    if chw_x == chw_y:
        ctx.alias(node, x)
    elif len(sy) == 2:
        ctx.builder.add_flatten(ctx.layer(node), 0, ctx.feature(x), y)
    else:
        ctx.builder.add_reshape(ctx.layer(node), ctx.feature(x), y, tuple(int(d) for d in chw_y), 0)


@EMIT.register("Reshape", since=14)
def reshape(node, ctx, allowzero=0):
    _to(node, ctx)


@EMIT.register("Flatten", since=13)
def flatten(node, ctx, axis=1):
    if axis != 1:
        raise ctx.fail("Flatten with axis %d would merge the batch; only axis 1 is converted" % axis)
    _to(node, ctx)


@EMIT.register("Squeeze", since=13)
def squeeze(node, ctx):
    _to(node, ctx)


@EMIT.register("Unsqueeze", since=13)
def unsqueeze(node, ctx):
    _to(node, ctx)


@EMIT.register("Transpose", since=13)
def transpose(node, ctx, perm=None):
    """A 4-D transpose that keeps the batch axis is a permute layer over (Seq=N, C, H, W): the IR's
    permutation is the layer's axis order as it is (NHWC -> NCHW behind a Keras input is (0, 3, 1, 2))."""
    x = node.input(0)
    sx = ctx.shape(x)
    perm = [int(p) for p in perm] if perm is not None else None
    if sx is None or len(sx) != 4 or perm is None or perm[0] != 0:
        raise ctx.fail("only 4-D transposes that keep the batch axis are converted (CoreML permute layer)")
    ctx.builder.add_permute(ctx.layer(node), tuple(perm), ctx.feature(x), ctx.out(node))

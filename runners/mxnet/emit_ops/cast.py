"""Cast, CastLike: to the dtype MXNet holds the target in (bool as uint8 0/1)."""

from ..codegen import EMIT


def _cast(node, ctx):
    x, out = node.input(0), node.outputs[0]
    dtype = ctx.held_dtype(out)
    if ctx.is_bool(out) and not ctx.is_bool(x):
        ctx.assign(node, ctx.as_bool("(%s != 0)" % ctx.x(x)))
        return
    ctx.assign(node, ctx.call("cast", ctx.x(x), dtype=dtype))


@EMIT.register("Cast")
def cast(node, ctx, to=1, saturate=1):
    _cast(node, ctx)


@EMIT.register("CastLike")
def cast_like(node, ctx, saturate=1):
    """Only the dtype of the second input matters: its values are not read."""
    _cast(node, ctx)

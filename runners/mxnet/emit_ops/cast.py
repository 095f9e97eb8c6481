"""Cast, CastLike: to the dtype MXNet holds the target in (bool as uint8 0/1)."""

import numpy as np

from ..codegen import EMIT, HELD_AS


def _cast(node, ctx, dtype):
    """`dtype`: the numpy dtype of the result."""
    x = node.input(0)
    if dtype is None or np.dtype(dtype).name not in HELD_AS:
        raise ctx.fail("MXNet 1.x has no %s arrays" % (np.dtype(dtype).name if dtype is not None else "such"))
    if dtype == np.bool_ and not ctx.is_bool(x):
        ctx.assign(node, ctx.as_bool("(%s != 0)" % ctx.x(x)))
        return
    ctx.assign(node, ctx.call("cast", ctx.x(x), dtype=HELD_AS[np.dtype(dtype).name]))


@EMIT.register("Cast")
def cast(node, ctx, to=1, saturate=1):
    from onnx import helper

    _cast(node, ctx, np.dtype(helper.tensor_dtype_to_np_dtype(to)))


@EMIT.register("CastLike")
def cast_like(node, ctx, saturate=1):
    """Only the dtype of the second input matters: its values are not read."""
    like = ctx.dtype(node.input(1))
    _cast(node, ctx, like if like is not None else ctx.dtype(node.outputs[0]))

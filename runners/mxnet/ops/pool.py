"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool."""

from runners.common.codegen import explicit_pads, split_pads

from ..codegen import EMIT
from ._spatial import pad_input


def _pool(node, ctx, kind, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations, count_include_pad=1):
    x = node.input(0)
    kernel = list(kernel_shape)
    n = len(kernel)
    strides = list(strides or [1] * n)
    if dilations and any(d != 1 for d in dilations):
        raise ctx.fail("dilated pooling has no MXNet operator")
    begins, ends = split_pads(explicit_pads(ctx, x, kernel, strides, [1] * n, pads, auto_pad))
    src = ctx.x(x)
    if begins != ends:
        if kind == "avg" and not count_include_pad:
            raise ctx.fail("average pooling with asymmetric padding that excludes the pad has no MXNet operator")
        src = pad_input(ctx, src, begins, ends, float("-inf") if kind == "max" else 0.0)
        begins = [0] * n
    expr = ctx.call(
        "Pooling",
        src,
        kernel=tuple(kernel),
        pool_type=kind,
        stride=tuple(strides),
        pad=tuple(begins) if any(begins) else None,
        pooling_convention="full" if ceil_mode else None,
        count_include_pad=bool(count_include_pad) if kind == "avg" else None,
    )
    ctx.assign(node, expr)


@EMIT.register("MaxPool", since=12)
def max_pool(
    node,
    ctx,
    auto_pad="NOTSET",
    ceil_mode=0,
    dilations=None,
    kernel_shape=None,
    pads=None,
    storage_order=0,
    strides=None,
):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool indices output is not supported")
    _pool(node, ctx, "max", kernel_shape, strides, pads, auto_pad, ceil_mode, dilations)


@EMIT.register("AveragePool", since=11)
def average_pool(
    node,
    ctx,
    auto_pad="NOTSET",
    ceil_mode=0,
    count_include_pad=0,
    kernel_shape=None,
    pads=None,
    strides=None,
    dilations=None,
):
    _pool(node, ctx, "avg", kernel_shape, strides, pads, auto_pad, ceil_mode, dilations, count_include_pad)


@EMIT.register("GlobalAveragePool", since=1)
def global_average_pool(node, ctx):
    ctx.assign(node, ctx.call("Pooling", ctx.x(node.input(0)), kernel=(1, 1), pool_type="avg", global_pool=True))


@EMIT.register("GlobalMaxPool", since=1)
def global_max_pool(node, ctx):
    ctx.assign(node, ctx.call("Pooling", ctx.x(node.input(0)), kernel=(1, 1), pool_type="max", global_pool=True))

"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool."""

from runners.common.codegen import explicit_pads, split_pads

from ..codegen import EMIT, compact, lit
from ._spatial import kwargs, torch_pad_list


def _pool_setup(node, ctx, kernel_shape, strides, dilations, pads, auto_pad):
    x = node.inputs[0]
    n = len(kernel_shape)
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D pooling has no torch layer" % n)
    kernel = list(kernel_shape)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    begins, ends = split_pads(explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad))
    return x, n, kernel, strides, dilations, begins, ends


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
    x, n, kernel, strides, dilations, begins, ends = _pool_setup(
        node, ctx, kernel_shape, strides, dilations, pads, auto_pad
    )
    src = ctx.x(x)
    # torch allows symmetric padding up to half the kernel; anything else is padded explicitly
    if begins != ends or any(2 * p > k for p, k in zip(begins, kernel)):
        src = "F.pad(%s, %s, value=float('-inf'))" % (src, lit(torch_pad_list(begins, ends)))
        begins = [0] * n
    ctor = "nn.MaxPool%dd(%s)" % (
        n,
        kwargs(
            kernel_size=compact(kernel),
            stride=compact(strides),
            padding=compact(begins) if any(begins) else None,
            dilation=compact(dilations) if any(d != 1 for d in dilations) else None,
            ceil_mode="True" if ceil_mode else None,
        ),
    )
    mod = ctx.module(node, ctor)
    ctx.assign(node, "%s(%s)" % (mod, src), outputs=node.outputs[:1])


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
    x, n, kernel, strides, dilations, begins, ends = _pool_setup(
        node, ctx, kernel_shape, strides, dilations, pads, auto_pad
    )
    if any(d != 1 for d in dilations):
        raise ctx.fail("dilated average pooling has no torch layer")
    src = ctx.x(x)
    if begins != ends or any(2 * p > k for p, k in zip(begins, kernel)):
        if not count_include_pad and any(begins + ends):
            raise ctx.fail("asymmetric padding with count_include_pad=0 has no torch equivalent")
        src = "F.pad(%s, %s)" % (src, lit(torch_pad_list(begins, ends)))
        begins = [0] * n
    ctor = "nn.AvgPool%dd(%s)" % (
        n,
        kwargs(
            kernel_size=compact(kernel),
            stride=compact(strides),
            padding=compact(begins) if any(begins) else None,
            ceil_mode="True" if ceil_mode else None,
            count_include_pad="False" if not count_include_pad else None,
        ),
    )
    mod = ctx.module(node, ctor)
    ctx.assign(node, "%s(%s)" % (mod, src))


def _global(node, ctx, kind):
    x = node.inputs[0]
    rank = ctx.need_rank(node, x)
    n = rank - 2
    if n in (1, 2, 3):
        mod = ctx.module(node, "nn.Adaptive%sPool%dd(1)" % (kind, n))
        ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)))
    else:
        fn = "torch.mean" if kind == "Avg" else "torch.amax"
        ctx.assign(node, "%s(%s, dim=%s, keepdim=True)" % (fn, ctx.x(x), lit(tuple(range(2, rank)))))


@EMIT.register("GlobalAveragePool", since=1)
def global_average_pool(node, ctx):
    _global(node, ctx, "Avg")


@EMIT.register("GlobalMaxPool", since=1)
def global_max_pool(node, ctx):
    _global(node, ctx, "Max")

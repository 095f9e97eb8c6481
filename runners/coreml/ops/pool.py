"""MaxPool, AveragePool (floor and ceil mode), GlobalAveragePool, GlobalMaxPool, and ReduceMean /
ReduceMax over H and W (what exporters write for a global pool).

CoreML pooling pads one of three ways: VALID with explicit start/end amounts (floor mode, any
pads), INCLUDE_LAST_PIXEL with symmetric amounts (Caffe's and PyTorch's ceil mode: the last window
must start inside the padded input) and SAME. avgPoolExcludePadding is count_include_pad=0.
"""

from ..context import EMIT
from ._spatial import window


def _out_size(size, k, s, begin, end, ceil):
    span = size + begin + end - k
    if ceil:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + begin:
            out -= 1
        return out
    return span // s + 1


def _pool(node, ctx, kind, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, exclude):
    x = node.input(0)
    kernel, strides, dilations, (top, left, bottom, right) = window(
        ctx, x, kernel_shape, strides, dilations, pads, auto_pad
    )
    if any(d != 1 for d in dilations):
        raise ctx.fail("dilated pooling has no CoreML NeuralNetwork layer")
    padding_type = "VALID"
    if ceil_mode:
        shape = ctx.shape(x)
        known = shape is not None and all(d is not None for d in shape[2:])
        changes = not known or any(
            _out_size(n, k, s, b, e, True) != _out_size(n, k, s, b, e, False)
            for n, k, s, b, e in zip(shape[2:], kernel, strides, (top, left), (bottom, right))
        )
        if changes:
            if (top, left) != (bottom, right):
                raise ctx.fail(
                    "ceil_mode with asymmetric pads %s has no CoreML pooling equivalent" % [top, left, bottom, right]
                )
            padding_type = "INCLUDE_LAST_PIXEL"
    ctx.builder.add_pooling(
        ctx.layer(node),
        height=kernel[0],
        width=kernel[1],
        stride_height=strides[0],
        stride_width=strides[1],
        layer_type=kind,
        padding_type=padding_type,
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
        exclude_pad_area=exclude,
        padding_top=top,
        padding_bottom=bottom,
        padding_left=left,
        padding_right=right,
    )


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
        raise ctx.fail("MaxPool's indices output has no CoreML equivalent")
    _pool(node, ctx, "MAX", kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, True)


@EMIT.register("AveragePool", since=11)
def average_pool(
    node,
    ctx,
    auto_pad="NOTSET",
    ceil_mode=0,
    count_include_pad=0,
    dilations=None,
    kernel_shape=None,
    pads=None,
    strides=None,
):
    _pool(node, ctx, "AVERAGE", kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, not count_include_pad)


def _global(node, ctx, kind):
    x = node.input(0)
    if ctx.rank(x) != 4:
        raise ctx.fail("global pooling of a rank-%s value is not converted" % ctx.rank(x))
    ctx.builder.add_pooling(
        ctx.layer(node),
        height=0,
        width=0,
        stride_height=1,
        stride_width=1,
        layer_type=kind,
        padding_type="VALID",
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
        is_global=True,
    )


@EMIT.register("GlobalAveragePool", since=1)
def global_average_pool(node, ctx):
    _global(node, ctx, "AVERAGE")


@EMIT.register("GlobalMaxPool", since=1)
def global_max_pool(node, ctx):
    _global(node, ctx, "MAX")


def _spatial_axes(node, ctx, axes):
    if axes is None and node.input(1):
        axes = ctx.const(node.input(1))
        if axes is None:
            raise ctx.fail("the reduction axes are computed at run time")
    axes = sorted(int(a) % 4 for a in axes) if axes is not None else None
    if ctx.rank(node.input(0)) != 4 or axes != [2, 3]:
        raise ctx.fail(
            "only a reduction over H and W of an [N, C, H, W] value (a global pool) is converted, not axes %s" % axes
        )


@EMIT.register("ReduceMean", since=18)
def reduce_mean(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _spatial_axes(node, ctx, None)
    _global(node, ctx, "AVERAGE")


@EMIT.register("ReduceMax", since=18)
def reduce_max(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _spatial_axes(node, ctx, None)
    _global(node, ctx, "MAX")

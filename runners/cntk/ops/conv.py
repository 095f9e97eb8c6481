"""Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool."""

from runners.common.codegen import lit, resolve_pads

from ..padding import padding_plan
from . import EMIT


def _spatial_plan(ctx, x, kernel, strides, dilations, pads, auto_pad):
    shape = ctx.need_shape(x)
    sizes = shape[2:]
    begins, ends = resolve_pads(sizes, kernel, strides, dilations, pads, auto_pad)
    return padding_plan(sizes, kernel, strides, dilations, begins, ends)


def _pad(ctx, src, explicit, value=0.0):
    pattern = [(0, 0)] + [tuple(int(v) for v in p) for p in explicit]
    return ctx.temp(ctx.call("pad", src, pattern=pattern, constant_value=value), "padded")


@EMIT.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w_name, b_name = node.input(0), node.input(1), node.input(2)
    w = ctx.need_const(1, "the kernel")
    n = w.ndim - 2
    kernel = list(kernel_shape or w.shape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    plan, explicit = _spatial_plan(ctx, x, kernel, strides, dilations, pads, auto_pad)
    src = ctx.x(x)
    if plan == "explicit":
        src = _pad(ctx, src, explicit)
    expr = ctx.call(
        "convolution",
        ctx.x(w_name, "parameter"),
        src,
        strides=tuple(strides),
        auto_padding=[False] + [plan == "auto"] * n,
        dilation=tuple(dilations) if any(d != 1 for d in dilations) else None,
        groups=group if group != 1 else None,
    )
    if b_name:
        b = ctx.const(b_name)
        if b is None:
            raise ctx.fail("the bias must be a constant")
        bias = ctx.weight(b_name, b.reshape((-1,) + (1,) * n), "parameter")
        expr = "C.plus(%s, %s)" % (expr, bias)
    ctx.assign(node, expr)


def _pool(node, ctx, kind, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations, count_include_pad=0):
    x = node.input(0)
    kernel = list(kernel_shape)
    n = len(kernel)
    strides = list(strides or [1] * n)
    if dilations and any(d != 1 for d in dilations):
        raise ctx.fail("dilated pooling has no CNTK operator")
    plan, explicit = _spatial_plan(ctx, x, kernel, strides, [1] * n, pads, auto_pad)
    if ceil_mode and not _ceil_matters(ctx.need_shape(x)[2:], kernel, strides, pads, auto_pad):
        ceil_mode = 0
    src = ctx.x(x)
    include = bool(count_include_pad)
    if plan == "explicit":
        if kind == "AVG_POOLING" and not include:
            raise ctx.fail("average pooling over explicit padding that excludes the pad has no CNTK operator")
        src = _pad(ctx, src, explicit, float("-inf") if kind == "MAX_POOLING" else 0.0)
    if plan == "auto" and ceil_mode:
        raise ctx.fail("ceil_mode with CNTK's automatic padding")
    expr = ctx.call(
        "pooling",
        src,
        "C.%s" % kind,
        lit(tuple(kernel)),
        strides=tuple(strides),
        auto_padding=[plan == "auto"] * n,
        ceil_out_dim=True if ceil_mode else None,
        include_pad=True if include and kind == "AVG_POOLING" else None,
    )
    if ceil_mode:
        expr = _drop_window_in_pad(ctx, x, expr, kernel, strides, pads, auto_pad)
    ctx.assign(node, expr)


def _drop_window_in_pad(ctx, x, expr, kernel, strides, pads, auto_pad):
    """ONNX's ceil mode drops a last window that would start inside the end padding; CNTK's
    ceilOutDim keeps it: slice it off (the windows before it are the same)."""
    sizes = ctx.need_shape(x)[2:]
    begins, ends = resolve_pads(sizes, kernel, strides, [1] * len(kernel), pads, auto_pad)
    for i, (size, k, s, b, e) in enumerate(zip(sizes, kernel, strides, begins, ends)):
        cntk_out = -(-(size + b + e - k) // s) + 1
        if (cntk_out - 1) * s >= size + b:
            expr = ctx.call("slice", expr, axis=ctx.axis(x, 2 + i), begin_index=0, end_index=cntk_out - 1)
    return expr


def _ceil_matters(sizes, kernel, strides, pads, auto_pad):
    begins, ends = resolve_pads(sizes, kernel, strides, [1] * len(kernel), pads, auto_pad)
    for size, k, s, b, e in zip(sizes, kernel, strides, begins, ends):
        if (size + b + e - k) % s:
            return True
    return False


@EMIT.register("MaxPool", since=12)
def max_pool(
    node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None, storage_order=0,
    strides=None,
):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool indices output is not supported")
    _pool(node, ctx, "MAX_POOLING", kernel_shape, strides, pads, auto_pad, ceil_mode, dilations)


@EMIT.register("AveragePool", since=11)
def average_pool(
    node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, kernel_shape=None, pads=None, strides=None,
    dilations=None,
):  # fmt: skip
    _pool(node, ctx, "AVG_POOLING", kernel_shape, strides, pads, auto_pad, ceil_mode, dilations, count_include_pad)


@EMIT.register("GlobalAveragePool", "GlobalMaxPool", since=1)
def global_pool(node, ctx):
    x = node.input(0)
    axes = tuple(range(1, ctx.rank(x) - 1))
    op = "reduce_mean" if node.op_type == "GlobalAveragePool" else "reduce_max"
    ctx.assign(node, ctx.call(op, ctx.x(x), axis=axes))

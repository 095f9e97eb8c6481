"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, LpPool, GlobalLpPool, MaxUnpool, RoiAlign."""

import numpy as np

from runners.common.specs import PoolSpec

from .. import functions
from ..codegen import EMIT, compact, lit
from ._spatial import kwargs, torch_pad_list


def _spec(node, ctx, **attrs):
    spec = PoolSpec.of_pool(ctx, node, **attrs)
    if spec.n not in (1, 2, 3):
        raise ctx.fail("%d-D pooling has no torch layer" % spec.n)
    return spec


def _needs_explicit_pad(spec):
    """torch pads symmetrically, by at most half the kernel."""
    return not spec.symmetric or any(2 * p > k for p, k in zip(spec.begins, spec.kernel))


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None):  # fmt: skip
    spec = _spec(node, ctx, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, ceil_mode=ceil_mode)  # fmt: skip
    src, begins, ceil = ctx.x(node.inputs[0]), spec.begins, spec.ceil_mode
    indices = len(node.outputs) > 1 and node.outputs[1]
    if _needs_explicit_pad(spec):
        if indices:
            raise ctx.fail("MaxPool indices with padding torch cannot hold (asymmetric or over half the kernel)")
        # padded explicitly, torch would take windows starting in the end padding for ceil mode's:
        # the ceil windows become end padding instead
        win = spec.with_ceil_as_padding() if spec.ceil_mode else spec
        src = "F.pad(%s, %s, value=float('-inf'))" % (src, lit(torch_pad_list(win.begins, win.ends)))
        begins, ceil = [0] * spec.n, False
    ctor = "nn.MaxPool%dd(%s)" % (
        spec.n,
        kwargs(
            kernel_size=compact(spec.kernel),
            stride=compact(spec.strides),
            padding=compact(begins) if any(begins) else None,
            dilation=compact(spec.dilations) if any(d != 1 for d in spec.dilations) else None,
            ceil_mode="True" if ceil else None,
            return_indices="True" if indices else None,
        ),
    )
    mod = ctx.module(node, ctor)
    if indices:
        _max_pool_indices(node, ctx, mod, src, storage_order)
        return
    ctx.assign(node, "%s(%s)" % (mod, src), outputs=node.outputs[:1])


def _max_pool_indices(node, ctx, mod, src, storage_order):
    """ONNX's indices count over the whole input (batch and channel planes included), row-major or,
    with storage_order=1, column-major within a plane; torch's count within one plane, row-major."""
    shape = ctx.need_shape(node.inputs[0])
    n, c, spatial = shape[0], shape[1], shape[2:]
    pooled = ctx.local("%s_with_indices" % ctx.x(node.inputs[0]), "%s(%s)" % (mod, src))
    ctx.assign(node, "%s[0]" % pooled, outputs=node.outputs[:1])
    where = "%s[1]" % pooled
    if storage_order:
        if len(spatial) != 2:
            raise ctx.fail("column-major MaxPool indices of a %d-D pooling" % len(spatial))
        h, w = spatial
        where = "%s // %d + %s %% %d * %d" % (where, w, where, w, h)
    plane = int(np.prod(spatial))
    offsets = "torch.arange(%d).reshape(%s) * %d" % (n * c, lit((n, c) + (1,) * len(spatial)), plane)
    ctx.assign(node, "%s + %s" % (where, offsets), outputs=node.outputs[1:2])


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, kernel_shape=None, pads=None,
                 strides=None, dilations=None):  # fmt: skip
    """Asymmetric padding that the average leaves out is legalized by the broker (LACKS)."""
    spec = _spec(node, ctx, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, ceil_mode=ceil_mode, count_include_pad=count_include_pad)  # fmt: skip
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("dilated average pooling has no torch layer")
    src, begins = ctx.x(node.inputs[0]), spec.begins
    if _needs_explicit_pad(spec):
        if spec.excludes_padding:
            raise ctx.fail("asymmetric padding left out of the average has no torch layer")
        src = "F.pad(%s, %s)" % (src, lit(torch_pad_list(spec.begins, spec.ends)))
        begins = [0] * spec.n
    ctor = "nn.AvgPool%dd(%s)" % (
        spec.n,
        kwargs(
            kernel_size=compact(spec.kernel),
            stride=compact(spec.strides),
            padding=compact(begins) if any(begins) else None,
            ceil_mode="True" if spec.ceil_mode else None,
            count_include_pad="False" if not spec.count_include_pad else None,
        ),
    )
    mod = ctx.module(node, ctor)
    ctx.assign(node, "%s(%s)" % (mod, src))


def _global(node, ctx, kind):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    n = rank - 2
    if n in (1, 2, 3):
        mod = ctx.module(node, "nn.Adaptive%sPool%dd(1)" % (kind, n))
        ctx.assign(node, "%s(%s)" % (mod, ctx.x(x)))
    else:
        fn = "torch.mean" if kind == "Avg" else "torch.amax"
        ctx.assign(node, "%s(%s, dim=%s, keepdim=True)" % (fn, ctx.x(x), lit(tuple(range(2, rank)))))


@EMIT.register("GlobalAveragePool")
def global_average_pool(node, ctx):
    _global(node, ctx, "Avg")


@EMIT.register("GlobalMaxPool")
def global_max_pool(node, ctx):
    _global(node, ctx, "Max")


@EMIT.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):  # fmt: skip
    """nn.LPPoolNd sums x**p over each window (zero padding adds nothing); ONNX sums |x|**p, the
    same for an even p. A dilated window is summed by a depthwise convolution with ones."""
    spec = PoolSpec.of_pool(ctx, node, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                            auto_pad=auto_pad, ceil_mode=ceil_mode, p=p)  # fmt: skip
    if spec.n not in (1, 2, 3):
        raise ctx.fail("%d-D Lp pooling has no torch layer" % spec.n)
    src = ctx.x(node.inputs[0])
    if p % 2:
        src = "torch.abs(%s)" % src
    if spec.padded:
        src = "F.pad(%s, %s)" % (src, lit(torch_pad_list(spec.begins, spec.ends)))
    if any(d != 1 for d in spec.dilations):
        if spec.ceil_mode:
            raise ctx.fail("dilated Lp pooling with ceil_mode")
        channels = ctx.need_shape(node.inputs[0])[1]
        ones = "torch.ones(%s, dtype=%s.dtype)" % (lit((channels, 1) + tuple(spec.kernel)), ctx.x(node.inputs[0]))
        opts = kwargs(stride=compact(spec.strides), dilation=compact(spec.dilations), groups=str(channels))
        summed = "F.conv%dd(%s ** %d, %s, %s)" % (spec.n, src, p, ones, opts)
        ctx.assign(node, "%s ** %s" % (summed, lit(1.0 / p)))
        return
    ctor = "nn.LPPool%dd(%s)" % (
        spec.n,
        kwargs(
            norm_type=lit(float(p)),
            kernel_size=compact(spec.kernel),
            stride=compact(spec.strides),
            ceil_mode="True" if spec.ceil_mode else None,
        ),  # fmt: skip
    )
    ctx.assign(node, "%s(%s)" % (ctx.module(node, ctor), src))


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    x = node.inputs[0]
    dims = lit(tuple(range(2, ctx.need_rank(x))))
    ctx.assign(node, "torch.linalg.vector_norm(%s, %s, dim=%s, keepdim=True)" % (ctx.x(x), lit(float(p)), dims))


@EMIT.register("MaxUnpool")
def max_unpool(node, ctx, kernel_shape=None, pads=None, strides=None):
    """F.max_unpoolNd into the size the pooling parameters give (F.max_unpoolNd takes indices within
    one (batch, channel) plane, ONNX's count over the whole tensor: the plane's size is taken off),
    then zeros after the end up to output_shape, where ONNX's reference puts them."""
    x, indices, shape = node.input(0), node.input(1), node.input(2)
    n = len(kernel_shape)
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D max unpooling has no torch function" % n)
    strides = list(strides or [1] * n)
    pads = list(pads or [0] * 2 * n)
    if pads[:n] != pads[n:]:
        raise ctx.fail("MaxUnpool with asymmetric pads %s" % pads)
    spatial = [(i - 1) * s + k - 2 * p for i, s, k, p in zip(ctx.need_shape(x)[2:], strides, kernel_shape, pads)]
    opts = kwargs(stride=compact(strides), padding=compact(pads[:n]) if any(pads) else None)
    args = (n, ctx.x(x), ctx.x(indices), int(np.prod(spatial)), compact(kernel_shape), opts)
    expr = "F.max_unpool%dd(%s, %s %% %d, %s, %s)" % args
    if shape:
        target = ctx.ints(shape)
        if target is None:
            pad = "[e for d, n in zip(%s.tolist()[:1:-1], %s) for e in (0, d - n)]" % (ctx.x(shape), lit(spatial[::-1]))
        else:
            pad = lit([e for d, m in zip(target[:1:-1], spatial[::-1]) for e in (0, d - m)])
        expr = "F.pad(%s, %s)" % (expr, pad)
    ctx.assign(node, expr)


@EMIT.register("RoiAlign")
def roi_align(node, ctx, coordinate_transformation_mode="half_pixel", mode="avg", output_height=1, output_width=1,
              sampling_ratio=0, spatial_scale=1.0):  # fmt: skip
    if mode not in ("avg", "max") or coordinate_transformation_mode not in ("half_pixel", "output_half_pixel"):
        raise ctx.fail("RoiAlign mode %s with %s coordinates" % (mode, coordinate_transformation_mode))
    args = [ctx.x(node.input(i)) for i in range(3)]
    args += ["mode=%r" % mode] if mode != "avg" else []
    args += ["output_height=%d" % output_height, "output_width=%d" % output_width]
    args += ["sampling_ratio=%d" % sampling_ratio] if sampling_ratio else []
    args += ["spatial_scale=%r" % float(spatial_scale)] if spatial_scale != 1.0 else []
    args += ["half_pixel=False"] if coordinate_transformation_mode == "output_half_pixel" else []
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.roi_align), ", ".join(args)))

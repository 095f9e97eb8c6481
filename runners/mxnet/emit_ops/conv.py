"""Conv and ConvTranspose (weights constant or computed), from the shared window specs.

MXNet's Convolution pads both ends alike: other pads are an explicit zero pad first. Its
Deconvolution crops both ends alike: other crops are a slice of the full transposed convolution."""

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..codegen import EMIT
from ._window import crop_spatial, pad_spatial


def _window_args(spec):
    return dict(
        kernel=tuple(spec.kernel),
        stride=tuple(spec.strides) if any(s != 1 for s in spec.strides) else None,
        dilate=tuple(spec.dilations) if any(d != 1 for d in spec.dilations) else None,
    )


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w, b = node.input(0), node.input(1), node.input(2)
    ctx.need_float(x, "Convolution")
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group, const_weights=False)
    rank = spec.n + 2
    if rank not in (3, 4, 5):
        raise ctx.fail("MXNet convolves 1-D to 3-D windows, not %d-D" % spec.n)
    src, begins = ctx.x(x), spec.begins
    if not spec.symmetric:
        src = pad_spatial(ctx, src, rank, spec.begins, spec.ends)
        begins = [0] * spec.n
    args = [src, ctx.x(w)] + ([ctx.x(b)] if b else [])
    ctx.assign(node, ctx.call(
        "Convolution",
        *args,
        pad=tuple(begins) if any(begins) else None,
        num_filter=spec.out_channels,
        num_group=spec.group if spec.group != 1 else None,
        no_bias=True if not b else None,
        **_window_args(spec)
    ))  # fmt: skip


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    x, w, b = node.input(0), node.input(1), node.input(2)
    ctx.need_float(x, "Deconvolution")
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides, const_weights=False)  # fmt: skip
    rank = spec.n + 2
    if rank not in (3, 4, 5):
        raise ctx.fail("MXNet deconvolves 1-D to 3-D windows, not %d-D" % spec.n)
    args = [ctx.x(x), ctx.x(w)] + ([ctx.x(b)] if b else [])
    expr = ctx.call(
        "Deconvolution",
        *args,
        pad=tuple(spec.begins) if spec.symmetric and any(spec.begins) else None,
        adj=tuple(spec.out_pad) if any(spec.out_pad) else None,
        num_filter=spec.out_channels,
        num_group=spec.group if spec.group != 1 else None,
        no_bias=not b,
        **_window_args(spec)
    )  # fmt: skip
    if spec.symmetric:
        ctx.assign(node, expr)
        return
    full = ctx.temp(expr, "full")
    sizes = [f - bg - e for f, bg, e in zip(spec.full_spatial(), spec.begins, spec.ends)]
    ctx.assign(node, ctx.call("identity", crop_spatial(ctx, full, rank, spec.begins, sizes)))

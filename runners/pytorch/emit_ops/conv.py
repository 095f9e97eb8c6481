"""Conv, ConvTranspose, Col2Im."""

from runners.common.specs import ConvTransposeSpec, WindowSpec

from ..codegen import EMIT, compact, lit
from ._spatial import kwargs, torch_pad_list


def conv_window(node, ctx, src, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None,
                strides=None):  # fmt: skip
    """(the source expression, padded explicitly where torch's symmetric padding cannot hold the
    pads; the window's keyword arguments; the number of spatial dims; the window spec; the weight's
    shape) of a Conv, ConvInteger or QLinearConv node."""
    w_name = node.input(3 if node.op_type == "QLinearConv" else 1)
    wshape = ctx.shape(w_name)
    if wshape is None:
        raise ctx.fail("the weight shape is unknown")
    n = len(wshape) - 2
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D convolution has no torch layer" % n)
    win = WindowSpec.of(ctx, node, kernel_shape or wshape[2:], strides, dilations, pads, auto_pad)
    begins = win.begins
    if not win.symmetric:
        src = "F.pad(%s, %s)" % (src, lit(torch_pad_list(win.begins, win.ends)))
        begins = [0] * n
    opts = dict(
        stride=compact(win.strides) if any(s != 1 for s in win.strides) else None,
        padding=compact(begins) if any(begins) else None,
        dilation=compact(win.dilations) if any(d != 1 for d in win.dilations) else None,
        groups=str(group) if group != 1 else None,
    )
    return src, opts, n, win, wshape


def functional_conv(n, src, weight, bias, opts):
    """`F.convNd(src, weight, bias, <window options>)`."""
    extra = kwargs(**opts)
    return "F.conv%dd(%s, %s, %s%s)" % (n, src, weight, bias, ", " + extra if extra else "")


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w_name, b_name = node.input(0), node.input(1), node.input(2)
    src, opts, n, win, wshape = conv_window(node, ctx, ctx.x(x), auto_pad, dilations, group, kernel_shape, pads,
                                            strides)  # fmt: skip
    w = ctx.const(w_name)
    b = ctx.const(b_name) if b_name else None
    if w is not None and (b_name is None or b is not None):
        params = {"weight": w}
        if b is not None:
            params["bias"] = b
        ctor = "nn.Conv%dd(%d, %d, %s)" % (
            n,
            wshape[1] * group,
            wshape[0],
            kwargs(kernel_size=compact(win.kernel), bias="False" if b is None else None, **opts),
        )
        mod = ctx.module(node, ctor, params, hint=ctx.weight_hint(w_name))
        ctx.assign(node, "%s(%s)" % (mod, src), prefer=mod)
    else:
        ctx.assign(node, functional_conv(n, src, ctx.x(w_name), ctx.x(b_name) if b_name else "None", opts))


@EMIT.register("ConvTranspose")
def conv_transpose(
    node,
    ctx,
    auto_pad="NOTSET",
    dilations=None,
    group=1,
    kernel_shape=None,
    output_padding=None,
    output_shape=None,
    pads=None,
    strides=None,
):
    """nn.ConvTransposeNd with the spec's pads: symmetric ones as `padding`, others cropped from
    the full output; output_padding as torch's (rows added at the end before the crop)."""
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides, const_weights=False)  # fmt: skip
    n = spec.n
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D transposed convolution has no torch layer" % n)
    if any(p >= max(s, d) for p, s, d in zip(spec.out_pad, spec.strides, spec.dilations)):
        raise ctx.fail("output_padding %s is not smaller than the stride or dilation (torch refuses it)" % spec.out_pad)
    symmetric = spec.symmetric
    opts = dict(
        stride=compact(spec.strides) if any(s != 1 for s in spec.strides) else None,
        padding=compact(spec.begins) if symmetric and any(spec.begins) else None,
        output_padding=compact(spec.out_pad) if any(spec.out_pad) else None,
        groups=str(spec.group) if spec.group != 1 else None,
        bias=None,
        dilation=compact(spec.dilations) if any(d != 1 for d in spec.dilations) else None,
    )
    b_name = node.input(2)
    if spec.weight is not None and (b_name is None or spec.bias is not None):
        params = {"weight": spec.weight}
        if spec.bias is not None:
            params["bias"] = spec.bias
        ctor = "nn.ConvTranspose%dd(%d, %d, %s)" % (
            n,
            spec.in_channels,
            spec.out_channels,
            kwargs(kernel_size=compact(spec.kernel), **dict(opts, bias="False" if spec.bias is None else None)),
        )
        mod = ctx.module(node, ctor, params, hint=ctx.weight_hint(node.input(1)))
        expr = "%s(%s)" % (mod, ctx.x(node.input(0)))
    else:  # weights computed at run time
        mod = None
        args = [ctx.x(node.input(0)), ctx.x(node.input(1)), ctx.x(b_name) if b_name else "None"]
        extra = kwargs(**opts)
        expr = "F.conv_transpose%dd(%s%s)" % (n, ", ".join(args), ", " + extra if extra else "")
    if not symmetric:
        crop = ", ".join("%d:%s" % (bg, -e if e else "") for bg, e in zip(spec.begins, spec.ends))
        expr = "%s[:, :, %s]" % (expr, crop)
    ctx.assign(node, expr, prefer=mod)


@EMIT.register("Col2Im")
def col2im(node, ctx, dilations=None, pads=None, strides=None):
    """F.fold: columns of blocks summed back into an image (2-D images, symmetric pads)."""
    dims = ctx.need_shape(node.input(1))[0]
    if dims != 2:
        raise ctx.fail("Col2Im of a %d-D image (torch's fold is 2-D)" % dims)
    pads = list(pads or [0] * 4)
    if pads[:2] != pads[2:]:
        raise ctx.fail("Col2Im with asymmetric pads %s" % pads)
    opts = kwargs(
        dilation=compact(dilations) if dilations and any(d != 1 for d in dilations) else None,
        padding=compact(pads[:2]) if any(pads) else None,
        stride=compact(strides) if strides and any(s != 1 for s in strides) else None,
    )
    args = (
        ctx.x(node.inputs[0]),
        ctx.int_list(node.input(1)),
        ctx.int_list(node.input(2)),
        ", " + opts if opts else "",
    )
    ctx.assign(node, "F.fold(%s, %s, %s%s)" % args)

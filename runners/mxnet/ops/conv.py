"""Conv, ConvTranspose."""

from runners.common.codegen import explicit_pads, split_pads

from ..codegen import EMIT
from ._spatial import pad_input


@EMIT.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w_name, b_name = node.input(0), node.input(1), node.input(2)
    wshape = ctx.shape(w_name)
    if wshape is None:
        raise ctx.fail("the weight shape is unknown")
    n = len(wshape) - 2
    kernel = list(kernel_shape or wshape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    begins, ends = split_pads(explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad))
    src = ctx.x(x)
    if begins != ends:
        src = pad_input(ctx, src, begins, ends)
        begins = [0] * n
    args = [src, ctx.x(w_name)] + ([ctx.x(b_name)] if b_name else [])
    expr = ctx.call(
        "Convolution",
        *args,
        kernel=tuple(kernel),
        stride=tuple(strides) if any(s != 1 for s in strides) else None,
        dilate=tuple(dilations) if any(d != 1 for d in dilations) else None,
        pad=tuple(begins) if any(begins) else None,
        num_filter=wshape[0],
        num_group=group if group != 1 else None,
        no_bias=True if not b_name else None,
    )
    ctx.assign(node, expr)


@EMIT.register("ConvTranspose", since=11)
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
    x, w_name, b_name = node.input(0), node.input(1), node.input(2)
    wshape = ctx.shape(w_name)
    if wshape is None:
        raise ctx.fail("the weight shape is unknown")
    n = len(wshape) - 2
    kernel = list(kernel_shape or wshape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    adj = list(output_padding or [0] * n)
    if output_shape or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.fail("ConvTranspose with output_shape or auto_pad is not supported; give explicit pads")
    begins, ends = ([0] * n, [0] * n) if auto_pad == "VALID" or not pads else (list(pads[:n]), list(pads[n:]))
    args = [ctx.x(x), ctx.x(w_name)] + ([ctx.x(b_name)] if b_name else [])
    symmetric = begins == ends
    expr = ctx.call(
        "Deconvolution",
        *args,
        kernel=tuple(kernel),
        stride=tuple(strides) if any(s != 1 for s in strides) else None,
        dilate=tuple(dilations) if any(d != 1 for d in dilations) else None,
        pad=tuple(begins) if symmetric and any(begins) else None,
        adj=tuple(adj) if any(adj) else None,
        num_filter=wshape[1] * group,
        num_group=group if group != 1 else None,
        no_bias=not b_name,
    )
    if symmetric:
        ctx.assign(node, expr)
        return
    full = ctx.temp(expr, "full")
    out = full
    for axis, (b, e) in enumerate(zip(begins, ends)):
        if b or e:
            out = ctx.temp(ctx.call("slice_axis", out, axis=axis + 2, begin=b, end=-e if e else None), "crop")
    ctx.assign(node, ctx.call("identity", out))

"""Conv, ConvTranspose."""

from runners.common.codegen import explicit_pads, split_pads

from ..codegen import EMIT, compact, lit
from ._spatial import kwargs, torch_pad_list


@EMIT.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w_name, b_name = node.input(0), node.input(1), node.input(2)
    w = ctx.const(w_name)
    wshape = ctx.shape(w_name)
    if wshape is None:
        raise ctx.fail("the weight shape is unknown")
    n = len(wshape) - 2
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D convolution has no torch layer" % n)
    kernel = list(kernel_shape or wshape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    begins, ends = split_pads(explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad))
    src = ctx.x(x)
    if begins != ends:
        src = "F.pad(%s, %s)" % (src, lit(torch_pad_list(begins, ends)))
        begins = [0] * n
    b = ctx.const(b_name) if b_name else None
    opts = dict(
        stride=compact(strides) if any(s != 1 for s in strides) else None,
        padding=compact(begins) if any(begins) else None,
        dilation=compact(dilations) if any(d != 1 for d in dilations) else None,
        groups=str(group) if group != 1 else None,
    )
    if w is not None and (b_name is None or b is not None):
        params = {"weight": w}
        if b is not None:
            params["bias"] = b
        ctor = "nn.Conv%dd(%d, %d, %s)" % (
            n,
            wshape[1] * group,
            wshape[0],
            kwargs(kernel_size=compact(kernel), bias="False" if b is None else None, **opts),
        )
        mod = ctx.module(node, ctor, params, hint=ctx.weight_hint(w_name))
        ctx.assign(node, "%s(%s)" % (mod, src), prefer=mod)
    else:
        args = [src, ctx.x(w_name), ctx.x(b_name) if b_name else "None"]
        extra = kwargs(**opts)
        ctx.assign(node, "F.conv%dd(%s%s)" % (n, ", ".join(args), ", " + extra if extra else ""))


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
    w = ctx.need_const(node, 1, "the weight")
    b = ctx.const(b_name) if b_name else None
    if b_name and b is None:
        raise ctx.fail("the bias must be a constant")
    n = w.ndim - 2
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D transposed convolution has no torch layer" % n)
    kernel = list(kernel_shape or w.shape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    out_pad = list(output_padding or [0] * n)
    if output_shape:
        shape = ctx.need_shape(node, x)
        total = [
            strides[i] * (shape[2 + i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - output_shape[-n + i]
            for i in range(n)
        ]
        if any(t < 0 for t in total):
            out_pad = [out_pad[i] - min(0, total[i]) for i in range(n)]
            total = [max(0, t) for t in total]
        if auto_pad == "SAME_UPPER":
            begins = [t // 2 for t in total]
        else:
            begins = [t - t // 2 for t in total]
        ends = [t - bg for t, bg in zip(total, begins)]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        shape = ctx.need_shape(node, x)
        total = [
            strides[i] * (shape[2 + i] - 1)
            + out_pad[i]
            + (kernel[i] - 1) * dilations[i]
            + 1
            - shape[2 + i] * strides[i]
            for i in range(n)
        ]
        total = [max(0, t) for t in total]
        if auto_pad == "SAME_UPPER":
            begins = [t // 2 for t in total]
        else:
            begins = [t - t // 2 for t in total]
        ends = [t - bg for t, bg in zip(total, begins)]
    elif auto_pad == "VALID":
        begins = ends = [0] * n
    else:
        begins, ends = split_pads(list(pads or [0] * (2 * n)))
    symmetric = begins == ends
    params = {"weight": w}
    if b is not None:
        params["bias"] = b
    ctor = "nn.ConvTranspose%dd(%d, %d, %s)" % (
        n,
        w.shape[0],
        w.shape[1] * group,
        kwargs(
            kernel_size=compact(kernel),
            stride=compact(strides) if any(s != 1 for s in strides) else None,
            padding=compact(begins) if symmetric and any(begins) else None,
            output_padding=compact(out_pad) if any(out_pad) else None,
            groups=str(group) if group != 1 else None,
            bias="False" if b is None else None,
            dilation=compact(dilations) if any(d != 1 for d in dilations) else None,
        ),
    )
    mod = ctx.module(node, ctor, params, hint=ctx.weight_hint(w_name))
    expr = "%s(%s)" % (mod, ctx.x(x))
    if not symmetric:
        crop = ", ".join("%d:%s" % (bg, -e if e else "") for bg, e in zip(begins, ends))
        expr = "%s[:, :, %s]" % (expr, crop)
    ctx.assign(node, expr, prefer=mod)

"""Convolution, pooling, normalisation and dense layers as MIL ops."""

import numpy as np

from runners.common.codegen import explicit_pads

from ..common import TO_MIL


def _mil_pads(onnx_pads):
    """ONNX [b1, b2, e1, e2] -> MIL [b1, e1, b2, e2]."""
    n = len(onnx_pads) // 2
    out = []
    for b, e in zip(onnx_pads[:n], onnx_pads[n:]):
        out += [int(b), int(e)]
    return out


def _window(node, ctx, kernel_shape, strides, dilations, pads, auto_pad):
    x = node.inputs[0]
    n = len(ctx.need_shape(x)) - 2
    kernel = list(kernel_shape or ctx.need_shape(node.inputs[1])[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    if n == 2:
        onnx_pads = explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad)
    elif auto_pad in ("NOTSET", "", None, b"NOTSET", "VALID", b"VALID"):
        onnx_pads = list(pads or [0] * (2 * n)) if auto_pad not in ("VALID", b"VALID") else [0] * (2 * n)
    else:
        raise ctx.fail("auto_pad %s is converted for 2-D windows only" % auto_pad)
    return kernel, strides, dilations, _mil_pads(onnx_pads)


@TO_MIL.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    from coremltools.converters.mil import Builder as mb

    weight = ctx.const(node.input(1))
    if weight is None:
        raise ctx.fail("the weights of a convolution must be constants")
    _, strides, dilations, pad = _window(node, ctx, kernel_shape, strides, dilations, pads, auto_pad)
    bias = ctx.const(node.input(2)) if node.input(2) else None
    kw = {"bias": bias.astype(np.float32)} if bias is not None else {}
    ctx.set(
        node,
        mb.conv(
            x=ctx.var(node.inputs[0]),
            weight=weight.astype(np.float32),
            strides=strides,
            pad_type="custom",
            pad=pad,
            dilations=dilations,
            groups=int(group),
            name=ctx.out(node),
            **kw,
        ),
    )


def _transpose_pads(node, ctx, kernel, strides, dilations, out_pad, pads, auto_pad, output_shape):
    """ONNX ConvTranspose pads as (begins, ends): the rows and columns cut from the start and end
    of the full transposed convolution extended by output_padding's rows of zeros at its end.
    Where onnxruntime, ONNX's reference implementation and ONNX's shape inference disagree (auto_pad
    or output_shape that make the total padding negative, SAME with output_padding, output_shape
    with pads or VALID), the node is refused."""
    spatial = ctx.need_shape(node.inputs[0])[2:]
    full = [(spatial[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + out_pad[i] for i in range(2)]
    if output_shape:
        if (pads and any(pads)) or auto_pad == "VALID":
            raise ctx.fail(
                "ConvTranspose with output_shape and %s is not converted (ambiguous)"
                % ("auto_pad VALID" if auto_pad == "VALID" else "pads")
            )
        target = [int(d) for d in list(output_shape)[-2:]]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if any(out_pad):
            raise ctx.fail(
                "ConvTranspose with auto_pad %s and output_padding is not converted (ONNX's shape inference "
                "and onnxruntime disagree on its output size)" % auto_pad
            )
        target = [spatial[i] * strides[i] for i in range(2)]
    elif auto_pad == "VALID":
        return [0, 0], [0, 0]
    else:
        pads = [int(p) for p in (pads or [0, 0, 0, 0])]
        if any(p < 0 for p in pads):
            raise ctx.fail("negative ConvTranspose pads are not converted")
        return pads[:2], pads[2:]
    total = [f - t for f, t in zip(full, target)]
    if any(t < 0 for t in total):
        raise ctx.fail(
            "ConvTranspose whose %s output %s is larger than the full transposed convolution %s is not "
            "converted (onnxruntime and ONNX's reference disagree on where the zeros go)"
            % ("output_shape" if output_shape else auto_pad, target, full)
        )
    if auto_pad == "SAME_UPPER":
        begins = [t // 2 for t in total]
    else:
        begins = [t - t // 2 for t in total]
    return begins, [t - b for t, b in zip(total, begins)]


@TO_MIL.register("ConvTranspose", since=11)
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
    """MIL conv_transpose takes the ONNX weight layout [C_in, C_out/groups, kH, kW] as it is, and
    its `pad` cuts rows from the full output like ONNX's pads. output_padding adds rows at the end:
    taken from the end pad where it is large enough, else the output is padded with zeros before
    the bias is added."""
    from coremltools.converters.mil import Builder as mb

    weight = ctx.const(node.input(1))
    if weight is None:
        raise ctx.fail("the weights of a transposed convolution must be constants")
    if weight.ndim != 4:
        raise ctx.fail("%d-D ConvTranspose is not converted (2-D only)" % (weight.ndim - 2))
    bias = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(2) and bias is None:
        raise ctx.fail("the bias of a transposed convolution must be a constant")
    kernel = [int(k) for k in (kernel_shape or weight.shape[2:])]
    if kernel != list(weight.shape[2:]):
        raise ctx.fail("kernel_shape %s differs from the weight's %s" % (kernel, list(weight.shape[2:])))
    strides = [int(s) for s in (strides or [1, 1])]
    dilations = [int(d) for d in (dilations or [1, 1])]
    out_pad = [int(p) for p in (output_padding or [0, 0])]
    begins, ends = _transpose_pads(node, ctx, kernel, strides, dilations, out_pad, pads, auto_pad, output_shape)
    cut_ends = [e - p for e, p in zip(ends, out_pad)]  # rows cut from the end of the full output
    zeros = [max(0, -c) for c in cut_ends]  # rows of zeros added after it
    pad = [begins[0], max(0, cut_ends[0]), begins[1], max(0, cut_ends[1])]
    kw = {} if any(zeros) else {"name": ctx.out(node)}
    if bias is not None and not any(zeros):
        kw["bias"] = bias.astype(np.float32)
    out = mb.conv_transpose(
        x=ctx.var(node.inputs[0]),
        weight=weight.astype(np.float32),
        pad_type="custom",
        pad=pad,
        strides=strides,
        dilations=dilations,
        groups=int(group),
        **kw,
    )
    if any(zeros):
        kw = {"name": ctx.out(node)} if bias is None else {}
        out = mb.pad(
            x=out, pad=np.array([0, zeros[0], 0, zeros[1]], np.int32), mode="constant", constant_val=np.float32(0), **kw
        )
        if bias is not None:
            out = mb.add(x=out, y=bias.astype(np.float32).reshape(-1, 1, 1), name=ctx.out(node))
    want = ctx.shape(node.outputs[0])
    if want and all(d is not None and d >= 0 for d in want) and list(out.shape) != [int(d) for d in want]:
        raise ctx.fail("the MIL conv_transpose gives shape %s, the IR says %s" % (list(out.shape), list(want)))
    ctx.set(node, out)


def _pool(node, ctx, fn, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations, **extra):
    from coremltools.converters.mil import Builder as mb

    if dilations and any(d != 1 for d in dilations):
        raise ctx.fail("dilated pooling has no MIL equivalent")
    kernel, strides, _, pad = _window(node, ctx, kernel_shape, strides, None, pads, auto_pad)
    op = getattr(mb, fn)
    out = op(
        x=ctx.var(node.inputs[0]),
        kernel_sizes=kernel,
        strides=strides,
        pad_type="custom",
        pad=pad,
        ceil_mode=bool(ceil_mode),
        name=ctx.out(node),
        **extra,
    )
    ctx.set(node, out)


@TO_MIL.register("MaxPool", since=12)
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
        raise ctx.fail("MaxPool's indices output has no MIL equivalent")
    _pool(node, ctx, "max_pool", kernel_shape, strides, pads, auto_pad, ceil_mode, dilations)


@TO_MIL.register("AveragePool", since=11)
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
    _pool(
        node,
        ctx,
        "avg_pool",
        kernel_shape,
        strides,
        pads,
        auto_pad,
        ceil_mode,
        dilations,
        exclude_padding_from_average=not count_include_pad,
    )


def _global(node, ctx, fn):
    from coremltools.converters.mil import Builder as mb

    rank = len(ctx.need_shape(node.inputs[0]))
    reduce = getattr(mb, fn)
    ctx.set(node, reduce(x=ctx.var(node.inputs[0]), axes=list(range(2, rank)), keep_dims=True, name=ctx.out(node)))


@TO_MIL.register("GlobalAveragePool", since=1)
def global_average_pool(node, ctx):
    _global(node, ctx, "reduce_mean")


@TO_MIL.register("GlobalMaxPool", since=1)
def global_max_pool(node, ctx):
    _global(node, ctx, "reduce_max")


@TO_MIL.register("BatchNormalization", since=15)
def batch_normalization(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    from coremltools.converters.mil import Builder as mb

    params = [ctx.const(node.input(i)) for i in (1, 2, 3, 4)]
    if any(p is None for p in params):
        raise ctx.fail("batch normalisation parameters must be constants")
    scale, bias, mean, var = [p.astype(np.float32) for p in params]
    out = mb.batch_norm(
        x=ctx.var(node.inputs[0]),
        mean=mean,
        variance=var,
        gamma=scale,
        beta=bias,
        epsilon=np.float32(epsilon),
        name=ctx.out(node),
    )
    ctx.set(node, out)


@TO_MIL.register("Gemm", since=13)
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    from coremltools.converters.mil import Builder as mb

    w = ctx.const(node.input(1))
    c = ctx.const(node.input(2)) if node.input(2) else None
    if transA or w is None or (node.input(2) and c is None):
        raise ctx.fail("Gemm converts with constant B and C and no transA")
    weight = (w if transB else w.T) * np.float32(alpha)
    kw = {}
    if c is not None:
        bias = np.broadcast_to(c * np.float32(beta), (weight.shape[0],))
        kw["bias"] = np.ascontiguousarray(bias, np.float32)
    out = mb.linear(
        x=ctx.var(node.inputs[0]), weight=np.ascontiguousarray(weight, np.float32), name=ctx.out(node), **kw
    )
    ctx.set(node, out)


@TO_MIL.register("MatMul", since=13)
def matmul(node, ctx):
    from coremltools.converters.mil import Builder as mb

    ctx.set(node, mb.matmul(x=ctx.x(node.inputs[0]), y=ctx.x(node.inputs[1]), name=ctx.out(node)))


@TO_MIL.register("LRN", since=13)
def lrn(node, ctx, alpha=0.0001, beta=0.75, bias=1.0, size=1):
    from coremltools.converters.mil import Builder as mb

    out = mb.local_response_norm(
        x=ctx.var(node.inputs[0]),
        size=int(size),
        alpha=np.float32(alpha),
        beta=np.float32(beta),
        k=np.float32(bias),
        name=ctx.out(node),
    )
    ctx.set(node, out)

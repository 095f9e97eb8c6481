"""MIL convolution, pooling, normalisation and dense ops -> IR nodes."""

import numpy as np

from ..common import FROM_MIL

AUTO_PAD = {"valid": "VALID", "same": "SAME_UPPER", "same_lower": "SAME_LOWER"}


def _ints(value):
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _window(op, ctx):
    """ONNX window attributes from MIL pad_type/pad/strides/dilations."""
    attrs = {}
    pad_type = str(ctx.val(op, "pad_type", "valid"))
    if pad_type == "custom":
        pad = _ints(ctx.val(op, "pad"))
        attrs["pads"] = pad[0::2] + pad[1::2]  # MIL [b1, e1, b2, e2] -> ONNX [b1, b2, e1, e2]
    elif pad_type in AUTO_PAD:
        attrs["auto_pad"] = AUTO_PAD[pad_type]
    else:
        raise ctx.fail("pad_type %s is not translated" % pad_type)
    strides = ctx.val(op, "strides")
    if strides is not None:
        attrs["strides"] = _ints(strides)
    return attrs


@FROM_MIL.register("conv")
def conv(op, ctx):
    attrs = _window(op, ctx)
    dilations = ctx.val(op, "dilations")
    if dilations is not None:
        attrs["dilations"] = _ints(dilations)
    attrs["group"] = int(ctx.val(op, "groups", 1))
    inputs = [ctx.input(op, "x"), ctx.input(op, "weight")]
    if "bias" in op.inputs:
        inputs.append(ctx.input(op, "bias"))
    ctx.node("Conv", inputs, [ctx.out(op)], **attrs)


@FROM_MIL.register("conv_transpose")
def conv_transpose(op, ctx):
    """ConvTranspose with the weight as it is ([C_in, C_out/groups, *K] in both). MIL's `pad` cuts
    rows from the full output as ONNX's pads do; `same` is translated where its total padding is
    even (so which side takes the odd row does not matter), and an output_shape only where it is
    the shape the padding gives."""
    weight = ctx.val(op, "weight")
    if weight is None:
        raise ctx.fail("conv_transpose with computed weights is not translated")
    kernel = list(np.asarray(weight).shape[2:])
    n = len(kernel)
    spatial = list(op.inputs["x"].shape[2:])
    if any(not isinstance(d, (int, np.integer)) for d in spatial):
        raise ctx.fail("conv_transpose of an input with unknown spatial size is not translated")
    strides = _ints(ctx.val(op, "strides", [1] * n))
    dilations = _ints(ctx.val(op, "dilations", [1] * n))
    full = [(spatial[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 for i in range(n)]
    pad_type = str(ctx.val(op, "pad_type", "valid"))
    if pad_type == "custom":
        pad = _ints(ctx.val(op, "pad", [0] * (2 * n)))
        begins, ends = pad[0::2], pad[1::2]
    elif pad_type == "valid":
        begins = ends = [0] * n
    elif pad_type == "same":
        total = [f - d * s for f, d, s in zip(full, spatial, strides)]
        if any(t < 0 or t % 2 for t in total):
            raise ctx.fail("conv_transpose with pad_type same and an odd or negative total padding %s" % total)
        begins = ends = [t // 2 for t in total]
    else:
        raise ctx.fail("pad_type %s is not translated" % pad_type)
    output_shape = ctx.val(op, "output_shape")
    if output_shape is not None:
        given = _ints(output_shape)[-n:]
        if given != [f - b - e for f, b, e in zip(full, begins, ends)]:
            raise ctx.fail("conv_transpose with an output_shape %s its padding does not give" % given)
    attrs = dict(
        kernel_shape=kernel,
        strides=strides,
        dilations=dilations,
        pads=begins + ends,
        group=int(ctx.val(op, "groups", 1)),
    )
    inputs = [ctx.input(op, "x"), ctx.input(op, "weight")]
    if "bias" in op.inputs and op.inputs["bias"] is not None:
        inputs.append(ctx.input(op, "bias"))
    ctx.node("ConvTranspose", inputs, [ctx.out(op)], **attrs)


def _pool(op, ctx, onnx_op, **extra):
    attrs = _window(op, ctx)
    attrs["kernel_shape"] = _ints(ctx.val(op, "kernel_sizes"))
    attrs["ceil_mode"] = int(bool(ctx.val(op, "ceil_mode", False)))
    attrs.update(extra)
    ctx.node(onnx_op, [ctx.input(op, "x")], [ctx.out(op)], **attrs)


@FROM_MIL.register("max_pool")
def max_pool(op, ctx):
    _pool(op, ctx, "MaxPool")


@FROM_MIL.register("avg_pool")
def avg_pool(op, ctx):
    exclude = bool(ctx.val(op, "exclude_padding_from_average", False))
    _pool(op, ctx, "AveragePool", count_include_pad=int(not exclude))


def _reduce(op, ctx, onnx_op):
    axes = ctx.val(op, "axes")
    inputs = [ctx.input(op, "x")]
    if axes is not None:
        inputs.append(ctx.const(ctx.out(op) + "__axes", np.array(_ints(axes), np.int64)))
    keep = int(bool(ctx.val(op, "keep_dims", False)))
    ctx.node(onnx_op, inputs, [ctx.out(op)], keepdims=keep)


REDUCE = {
    "reduce_mean": "ReduceMean",
    "reduce_max": "ReduceMax",
    "reduce_min": "ReduceMin",
    "reduce_sum": "ReduceSum",
    "reduce_prod": "ReduceProd",
    "reduce_l1_norm": "ReduceL1",
    "reduce_l2_norm": "ReduceL2",
    "reduce_log_sum_exp": "ReduceLogSumExp",
    "reduce_sum_square": "ReduceSumSquare",
    "reduce_log_sum": "ReduceLogSum",
}


@FROM_MIL.register(*REDUCE)
def reduce(op, ctx):
    _reduce(op, ctx, REDUCE[op.op_type])


@FROM_MIL.register("reduce_argmax", "reduce_argmin")
def reduce_arg(op, ctx):
    """ArgMax/ArgMin (int64) cast to MIL's int32."""
    out = ctx.out(op)
    onnx_op = "ArgMax" if op.op_type == "reduce_argmax" else "ArgMin"
    keep = int(bool(ctx.val(op, "keep_dims", False)))
    index = ctx.node(onnx_op, [ctx.input(op, "x")], [out + "__index"], axis=int(ctx.val(op, "axis", -1)), keepdims=keep)
    ctx.node("Cast", [index], [out], to=6)


@FROM_MIL.register("cumsum")
def cumsum(op, ctx):
    out = ctx.out(op)
    axis = ctx.const(out + "__axis", np.array(int(ctx.val(op, "axis", 0)), np.int32))
    exclusive, reverse = (int(bool(ctx.val(op, k, False))) for k in ("exclusive", "reverse"))
    ctx.node("CumSum", [ctx.input(op, "x"), axis], [out], exclusive=exclusive, reverse=reverse)


@FROM_MIL.register("l2_pool")
def l2_pool(op, ctx):
    _pool(op, ctx, "LpPool", p=2)


@FROM_MIL.register("instance_norm")
def instance_norm(op, ctx):
    channels = int(op.inputs["x"].shape[1])
    out = ctx.out(op)
    gamma = (
        ctx.input(op, "gamma") if "gamma" in op.inputs else ctx.const(out + "__gamma", np.ones(channels, np.float32))
    )
    beta = ctx.input(op, "beta") if "beta" in op.inputs else ctx.const(out + "__beta", np.zeros(channels, np.float32))
    ctx.node(
        "InstanceNormalization", [ctx.input(op, "x"), gamma, beta], [out], epsilon=float(ctx.val(op, "epsilon", 1e-5))
    )


@FROM_MIL.register("layer_norm")
def layer_norm(op, ctx):
    """Over trailing axes only (ONNX's LayerNormalization normalises from `axis` to the end)."""
    shape = list(op.inputs["x"].shape)
    rank = len(shape)
    axes = sorted(int(a) % rank for a in np.asarray(ctx.val(op, "axes")).reshape(-1))
    if axes != list(range(axes[0], rank)):
        raise ctx.fail("layer_norm over axes %s is not translated (trailing axes only)" % axes)
    out = ctx.out(op)
    normalized = [int(d) for d in shape[axes[0] :]]
    gamma = (
        ctx.input(op, "gamma") if "gamma" in op.inputs else ctx.const(out + "__gamma", np.ones(normalized, np.float32))
    )
    inputs = [ctx.input(op, "x"), gamma]
    if "beta" in op.inputs:
        inputs.append(ctx.input(op, "beta"))
    ctx.node("LayerNormalization", inputs, [out], axis=axes[0], epsilon=float(ctx.val(op, "epsilon", 1e-5)))


@FROM_MIL.register("batch_norm")
def batch_norm(op, ctx):
    channels = int(np.asarray(ctx.val(op, "mean")).shape[0])
    gamma = (
        ctx.input(op, "gamma")
        if "gamma" in op.inputs
        else ctx.const(ctx.out(op) + "__gamma", np.ones(channels, np.float32))
    )
    beta = (
        ctx.input(op, "beta")
        if "beta" in op.inputs
        else ctx.const(ctx.out(op) + "__beta", np.zeros(channels, np.float32))
    )
    inputs = [ctx.input(op, "x"), gamma, beta, ctx.input(op, "mean"), ctx.input(op, "variance")]
    ctx.node("BatchNormalization", inputs, [ctx.out(op)], epsilon=float(ctx.val(op, "epsilon", 1e-5)))


@FROM_MIL.register("linear")
def linear(op, ctx):
    inputs = [ctx.input(op, "x"), ctx.input(op, "weight")]
    if "bias" in op.inputs:
        inputs.append(ctx.input(op, "bias"))
    if len(op.inputs["x"].shape) == 2:
        ctx.node("Gemm", inputs, [ctx.out(op)], transB=1)
        return
    weight = np.asarray(ctx.val(op, "weight"))
    w_t = ctx.const(ctx.out(op) + "__weight_t", np.ascontiguousarray(weight.T, np.float32))
    if len(inputs) == 2:
        ctx.node("MatMul", [inputs[0], w_t], [ctx.out(op)])
        return
    product = ctx.node("MatMul", [inputs[0], w_t], [ctx.out(op) + "__matmul"])
    ctx.node("Add", [product, inputs[2]], [ctx.out(op)])


@FROM_MIL.register("matmul")
def matmul(op, ctx):
    if ctx.val(op, "transpose_x", False) or ctx.val(op, "transpose_y", False):
        raise ctx.fail("matmul with transposed operands is not translated")
    ctx.node("MatMul", [ctx.input(op, "x"), ctx.input(op, "y")], [ctx.out(op)])


@FROM_MIL.register("local_response_norm")
def local_response_norm(op, ctx):
    ctx.node(
        "LRN",
        [ctx.input(op, "x")],
        [ctx.out(op)],
        size=int(ctx.val(op, "size")),
        alpha=float(ctx.val(op, "alpha", 1e-4)),
        beta=float(ctx.val(op, "beta", 0.75)),
        bias=float(ctx.val(op, "k", 1.0)),
    )

"""Conv, ConvTranspose, MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool
(geometry from runners/common/specs.py).

Pads are CNTK's automatic padding where they are the same (runners/cntk/padding.py), else an
explicit C.pad first. CNTK 2.7 has no dilated convolution on the CPU: a dilated kernel is the
dense kernel with zeros between its taps. Its transposed convolution has no groups (one per group,
spliced) and its ceilOutDim keeps a last window that starts in the end padding (sliced off)."""

import numpy as np

from runners.common.codegen import lit
from runners.common.specs import ConvSpec, ConvTransposeSpec, PoolSpec

from ..emit import EMIT
from ..padding import padding_plan


def _plan(ctx, node, spec):
    sizes = spec.in_spatial or ctx.need_shape(node.inputs[0])[2:]
    return padding_plan(sizes, spec.kernel, spec.strides, spec.dilations, spec.begins, spec.ends)


def _pad(ctx, src, explicit, value=0.0):
    pattern = [(0, 0)] + [tuple(int(v) for v in p) for p in explicit]
    return ctx.temp(ctx.call("pad", src, pattern=pattern, constant_value=value), "padded")


def dense_kernel(weight, dilations):
    """The kernel of a dilated convolution with zeros between its taps (the same sums)."""
    if all(d == 1 for d in dilations):
        return weight
    k = weight.shape[2:]
    dense = np.zeros(weight.shape[:2] + tuple((n - 1) * d + 1 for n, d in zip(k, dilations)), weight.dtype)
    dense[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilations)] = weight
    return dense


def _bias(ctx, node, expr, bias, n):
    if bias is None:
        return expr
    return "C.plus(%s, %s)" % (expr, ctx.weight(node.inputs[2], bias.reshape((-1,) + (1,) * n), "parameter"))


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    plan, explicit = _plan(ctx, node, spec)
    src = ctx.x(node.inputs[0])
    if plan == "explicit":
        src = _pad(ctx, src, explicit)
    weight = dense_kernel(spec.weight, spec.dilations)
    expr = ctx.call(
        "convolution",
        ctx.weight(node.inputs[1], weight, "parameter"),
        src,
        strides=tuple(spec.strides),
        auto_padding=[False] + [plan == "auto"] * spec.n,
        groups=spec.group if spec.group != 1 else None,
    )
    ctx.assign(node, _bias(ctx, node, expr, spec.bias, spec.n))


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """The full transposed convolution (output_padding rows included: CNTK leaves them zero), the
    bias, then the pads cut off by a slice."""
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides)  # fmt: skip
    if spec.in_spatial is None:
        spec.in_spatial = ctx.need_shape(node.inputs[0])[2:]
    x = node.inputs[0]
    weight = dense_kernel(spec.weight, spec.dilations)
    full = spec.full_spatial()
    per_group = spec.out_channels // spec.group
    outs = []
    for g in range(spec.group):
        src = ctx.x(x)
        rows = slice(None)
        if spec.group > 1:
            size = spec.in_channels // spec.group
            src = ctx.call("slice", src, axis=ctx.axis(x, 1), begin_index=g * size, end_index=(g + 1) * size)
            src = ctx.temp(src, "group")
            rows = slice(g * size, (g + 1) * size)
        kernel = ctx.weight("%s_group%d" % (node.inputs[1], g) if spec.group > 1 else node.inputs[1],
                            weight[rows], "parameter")  # fmt: skip
        outs.append(ctx.call("convolution_transpose", kernel, src, strides=tuple(spec.strides),
                             auto_padding=[False] * (spec.n + 1), output_shape=tuple([per_group] + full)))  # fmt: skip
    if len(outs) > 1:
        outs = [ctx.temp(o, "group_out") for o in outs]
    expr = outs[0] if len(outs) == 1 else "C.splice(%s, axis=%d)" % (", ".join(outs), ctx.axis(x, 1))
    expr = _bias(ctx, node, expr, spec.bias, spec.n)
    cut = [(i, b, f - e) for i, (b, e, f) in enumerate(zip(spec.begins, spec.ends, full)) if b or e]
    if cut:
        expr = ctx.call("slice", ctx.temp(expr, "full"), [ctx.axis(x, 2 + i) for i, _, _ in cut],
                        [b for _, b, _ in cut], [e for _, _, e in cut])  # fmt: skip
    ctx.assign(node, expr)


def _pool(node, ctx, kind, spec, src=None):
    """CNTK pooling of `spec`'s windows over `src` (default: the node's input); returns the expression."""
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("dilated pooling; CNTK's pooling windows are dense")
    if spec.in_spatial is None:
        spec.in_spatial = ctx.need_shape(node.inputs[0])[2:]
    out = spec.out_spatial()
    if spec.ceil_mode and out == _floor_sizes(spec):
        spec.ceil_mode = False  # ceil mode changes nothing here
    correction = None
    if spec.ceil_mode and spec.padded:
        # CNTK's ceilOutDim over padding divides the windows past the padded edge otherwise: the
        # windows in floor mode over extra end padding (-inf for max, zeros for average), an
        # average rescaled where ONNX's divisor stops at the padded edge
        if kind == "AVG_POOLING":
            if not spec.count_include_pad:
                raise ctx.fail("average pooling that leaves out its padding (the broker rewrites this form)")
            correction = _divisor_correction(spec, out)
        spec = PoolSpec(spec.with_ceil_as_padding(), count_include_pad=1 if kind == "AVG_POOLING" else 0)
    plan, explicit = _plan(ctx, node, spec)
    include = kind == "AVG_POOLING" and spec.count_include_pad
    src = src or ctx.x(node.inputs[0])
    if plan == "explicit":
        if kind == "AVG_POOLING" and not include:
            raise ctx.fail("average pooling that leaves out explicit padding (the broker rewrites this form)")
        src = _pad(ctx, src, explicit, float("-inf") if kind == "MAX_POOLING" else 0.0)
    elif plan == "auto" and spec.ceil_mode:
        raise ctx.fail("ceil_mode with CNTK's automatic padding")
    expr = ctx.call(
        "pooling",
        src,
        "C.%s" % kind,
        lit(tuple(spec.kernel)),
        strides=tuple(spec.strides),
        auto_padding=[plan == "auto"] * spec.n,
        ceil_out_dim=True if spec.ceil_mode else None,
        include_pad=True if include else None,
    )
    if spec.ceil_mode:
        expr = _drop_window_in_pad(ctx, node, expr, spec, out)
    if correction is not None:
        factor = ctx.weight(node.outputs[0] + "_divisor_correction", correction.reshape((1,) + correction.shape))
        expr = ctx.call("element_times", ctx.temp(expr, "window_sums"), factor)
    return expr


def _divisor_correction(spec, out):
    """kernel size / ONNX's divisor per output position (the window clipped to the padded input,
    count_include_pad=1), or None where every divisor is the kernel size."""
    counts = None
    for i in range(spec.n):
        starts = np.arange(out[i]) * spec.strides[i] - spec.begins[i]
        stops = np.minimum(starts + spec.kernel[i], spec.in_spatial[i] + spec.ends[i])
        axis = (stops - starts).astype(np.float64)
        counts = axis if counts is None else np.multiply.outer(counts, axis)
    factor = float(np.prod(spec.kernel)) / counts
    return None if np.all(factor == 1.0) else factor.astype(np.float32)


def _floor_sizes(spec):
    """Output sizes of the same windows without ceil mode."""
    return [(i + b + e - k) // s + 1 for i, b, e, k, s in
            zip(spec.in_spatial, spec.begins, spec.ends, spec.effective_kernel, spec.strides)]  # fmt: skip


def _drop_window_in_pad(ctx, node, expr, spec, out):
    """ONNX's ceil mode drops a last window that would start inside the end padding; CNTK's
    ceilOutDim keeps it: slice it off (the windows before it are the same)."""
    for i, (size, k, s, b, e) in enumerate(zip(spec.in_spatial, spec.kernel, spec.strides, spec.begins, spec.ends)):
        cntk_out = -(-(size + b + e - k) // s) + 1
        if cntk_out > out[i]:
            axis = ctx.axis(node.inputs[0], 2 + i)
            expr = ctx.call("slice", ctx.temp(expr, "ceil"), axis=axis, begin_index=0, end_index=out[i])
    return expr


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool's indices output has no CNTK equivalent")
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    ctx.assign(node, _pool(node, ctx, "MAX_POOLING", spec))


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None,
                 kernel_shape=None, pads=None, strides=None):  # fmt: skip
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode,
                            count_include_pad)  # fmt: skip
    ctx.assign(node, _pool(node, ctx, "AVG_POOLING", spec))


@EMIT.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):  # fmt: skip
    """(sum of |x|^p over the window)^(1/p): the average of |x|^p over whole windows (zero padding
    counted) times the window size."""
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, 1, p)
    if spec.ceil_mode:
        raise ctx.fail("LpPool with ceil_mode")
    powered = ctx.temp(ctx.call("pow", ctx.call("abs", ctx.x(node.inputs[0])), lit(float(p))), "powered")
    mean = ctx.temp(_pool(node, ctx, "AVG_POOLING", spec, powered), "mean")
    size = float(np.prod(spec.kernel))
    ctx.assign(node, ctx.call("pow", "C.element_times(%s, %s)" % (mean, lit(size)), lit(1.0 / p)))


@EMIT.register("GlobalAveragePool", "GlobalMaxPool")
def global_pool(node, ctx):
    x = node.inputs[0]
    axes = tuple(ctx.axis(x, a) for a in range(2, ctx.need_rank(x)))
    op = "reduce_mean" if node.op_type == "GlobalAveragePool" else "reduce_max"
    ctx.assign(node, ctx.call(op, ctx.x(x), axis=axes))


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    x = node.inputs[0]
    axes = tuple(ctx.axis(x, a) for a in range(2, ctx.need_rank(x)))
    powered = ctx.call("pow", ctx.call("abs", ctx.x(x)), lit(float(p)))
    ctx.assign(node, ctx.call("pow", ctx.call("reduce_sum", powered, axis=axes), lit(1.0 / p)))

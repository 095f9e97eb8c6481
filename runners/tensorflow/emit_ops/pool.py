"""MaxPool, AveragePool, LpPool and their global forms, from PoolSpec (runners/common/specs.py).

Keras pooling layers pad nothing ('valid') or what TensorFlow's 'same' pads, and never dilate: other
pads are explicit (zeros, -inf before a max), ceil_mode is extra end padding, and a dilated window
is the element-wise max or sum of one strided slice per kernel tap. AveragePool that leaves
padding out of its divisor reaches this emitter only where the pads (ceil_mode's included) are
TensorFlow's 'same' (LACKS AveragePool.exclude_pad_unlike_same).
"""

import numpy as np

from runners.common.specs import PoolSpec

from ..codegen import EMIT, channels_last, lit, pair
from ._spatial import value_pad, window_taps, zero_pad


def _spec(node, ctx, **attrs):
    spec = PoolSpec.of_pool(ctx, node, **attrs)
    if spec.n not in (1, 2, 3):
        raise ctx.fail("%d-D pooling has no Keras layer" % spec.n)
    if spec.ceil_mode and spec.in_spatial is None:
        ctx.need_shape(node.inputs[0])
    return spec


def _ctor(kind, spec, padding="valid"):
    opts = "pool_size=%s, strides=%s" % (pair(spec.kernel), pair(spec.strides))
    if padding != "valid":
        opts += ", padding=%r" % padding
    return "layers.%sPooling%dD(%s)" % (kind, spec.n, opts)


def _dilated(spec):
    return any(d != 1 for d in spec.dilations)


def _taps(ctx, src, spec, combine, hint):
    """`combine` ('max' or 'sum') over the taps of every window of `spec` (floor mode, padded)."""
    taps = window_taps(ctx, src, spec, hint)
    if len(taps) == 1:
        return taps[0]
    return "keras.ops.%s(keras.ops.stack([%s], axis=0), axis=0)" % (combine, ", ".join(taps))


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool's indices output has no Keras form")
    spec = _spec(node, ctx, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, ceil_mode=ceil_mode)  # fmt: skip
    floor = spec.with_ceil_as_padding()
    cl = channels_last(spec.n + 2)
    src = ctx.x(node.inputs[0], cl)
    hint = ctx.weight_hint(node)
    if _dilated(spec):
        src = value_pad(ctx, src, floor.begins, floor.ends, float("-inf"), hint + "_pad")
        ctx.assign(node, _taps(ctx, src, floor, "max", hint), cl, outputs=node.outputs[:1])
        return
    padding = "valid"
    if floor.padded:
        if spec.same_windows():
            padding = "same"  # TensorFlow's 'same' max pooling ignores the padding, as ONNX does
        else:
            src = value_pad(ctx, src, floor.begins, floor.ends, float("-inf"), hint + "_pad")
    ctx.layer(node, _ctor("Max", floor, padding), [src], cl, outputs=node.outputs[:1])


def _in_padded_input(spec):
    """Per output position, the cells of its window inside the input and its pads (ceil_mode's
    last windows reach past them): what ONNX divides by with count_include_pad=1."""
    out = spec.out_spatial()
    counts = None
    for i in range(spec.n):
        starts = np.arange(out[i]) * spec.strides[i]
        cells = starts[:, None] + np.arange(spec.kernel[i])[None, :] * spec.dilations[i]
        axis = (cells < spec.in_spatial[i] + spec.begins[i] + spec.ends[i]).sum(axis=1)
        counts = axis if counts is None else np.multiply.outer(counts, axis)
    return counts


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=None,
                 pads=None, strides=None):  # fmt: skip
    spec = _spec(node, ctx, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, ceil_mode=ceil_mode, count_include_pad=count_include_pad)  # fmt: skip
    floor = spec.with_ceil_as_padding()
    if not count_include_pad and floor.padded and not spec.same_windows():
        raise ctx.fail(
            "AveragePool that leaves these pads %s out of its divisor has no Keras form (the broker rewrites it "
            "when the input's shape is known and no window lies entirely in the padding)" % floor.pads()
        )
    cl = channels_last(spec.n + 2)
    src = ctx.x(node.inputs[0], cl)
    hint = ctx.weight_hint(node)
    if not floor.padded and not _dilated(spec):
        ctx.layer(node, _ctor("Average", spec), [src], cl)
        return
    if not count_include_pad and not _dilated(spec):
        ctx.layer(node, _ctor("Average", spec, "same"), [src], cl)  # TensorFlow's 'same' leaves the pads out
        return
    src = zero_pad(ctx, src, floor.begins, floor.ends, hint + "_pad")
    if _dilated(spec):
        expr = "%s / %s" % (_taps(ctx, src, floor, "sum", hint), lit(float(np.prod(spec.kernel))))
        pooled = ctx.temp(expr, hint)
    else:
        pooled = ctx.layer_var(_ctor("Average", floor), [src], hint)
    counts = _in_padded_input(spec) if any(spec.ceil_extra()) else None
    if counts is None or (counts == np.prod(spec.kernel)).all():
        ctx.alias(node, pooled, cl)
        return
    divisor = (np.prod(spec.kernel) / counts).astype(np.float32).reshape((1,) + counts.shape + (1,))
    key = ctx.store_const("%s_divisor" % hint, divisor)
    ctx.assign(node, "keras.ops.multiply(%s, W[%r])" % (pooled, key), cl)


@EMIT.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):  # fmt: skip
    """(sum over the window of |x|^p)^(1/p): the window sums as average pooling times the kernel size."""
    spec = _spec(node, ctx, kernel_shape=kernel_shape, strides=strides, dilations=dilations, pads=pads,
                 auto_pad=auto_pad, ceil_mode=ceil_mode)  # fmt: skip
    floor = spec.with_ceil_as_padding()
    cl = channels_last(spec.n + 2)
    hint = ctx.weight_hint(node)
    src = ctx.temp(_abs_power(ctx.x(node.inputs[0], cl), p), hint + "_pow")
    src = zero_pad(ctx, src, floor.begins, floor.ends, hint + "_pad")
    if _dilated(spec):
        sums = _taps(ctx, src, floor, "sum", hint)
    else:
        sums = "%s * %s" % (ctx.layer_var(_ctor("Average", floor), [src], hint), lit(float(np.prod(spec.kernel))))
    ctx.assign(node, "keras.ops.power(%s, %s)" % (sums, lit(1.0 / p)), cl)


def _abs_power(var, p):
    if p == 2:
        return "keras.ops.square(%s)" % var
    if p == 1:
        return "keras.ops.abs(%s)" % var
    return "keras.ops.power(keras.ops.abs(%s), %s)" % (var, lit(float(p)))


def _global(node, ctx, kind):
    x = node.inputs[0]
    rank = ctx.need_rank(x)
    if rank not in (3, 4, 5):
        raise ctx.fail("global pooling of a rank-%s tensor has no Keras layer" % rank)
    cl = channels_last(rank)
    ctor = "layers.Global%sPooling%dD(keepdims=True)" % (kind, rank - 2)
    ctx.layer(node, ctor, [ctx.x(x, cl)], cl)


@EMIT.register("GlobalAveragePool")
def global_average_pool(node, ctx):
    _global(node, ctx, "Average")


@EMIT.register("GlobalMaxPool")
def global_max_pool(node, ctx):
    _global(node, ctx, "Max")


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    var, layout = ctx.any(node.inputs[0])
    rank = len(layout)
    if rank < 3:
        raise ctx.fail("GlobalLpPool needs an [N, C, ...] input")
    axes = tuple(sorted(layout.index(a) for a in range(2, rank)))
    sums = "keras.ops.sum(%s, axis=%s, keepdims=True)" % (_abs_power(var, p), lit(axes))
    ctx.assign(node, "keras.ops.power(%s, %s)" % (sums, lit(1.0 / p)), layout)

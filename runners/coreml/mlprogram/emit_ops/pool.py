"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool, LpPool as MIL pools and
reductions.

Pads are MIL's custom pads (any, asymmetric too) in floor mode; ceil_mode becomes extra end padding
(PoolSpec.with_ceil_as_padding), which max pooling ignores and an average that leaves padding out
of its divisor leaves out too. An average that counts padding keeps MIL's ceil_mode (symmetric pads,
where MIL's output size is ONNX's): there ONNX and MIL both count only the cells inside the padded
input. LpPool p=2 is MIL's l2_pool.
"""

import numpy as np

from runners.common.specs import PoolSpec

from ..common import TO_MIL
from ._common import mil_pads


def _mil_ceil_sizes(spec):
    """The output sizes MIL's ceil_mode gives (coremltools' spatial_dimensions_out_shape)."""
    out = []
    for i in range(spec.n):
        size = spec.in_spatial[i] + spec.begins[i] + spec.ends[i] - spec.effective_kernel[i]
        o = (size + spec.strides[i] - 1) // spec.strides[i] + 1
        if (o - 1) * spec.strides[i] >= spec.in_spatial[i] + spec.begins[i] and (spec.begins[i] or spec.ends[i]):
            o -= 1
        out.append(o)
    return out


def _pool(node, ctx, fn, spec, **extra):
    from coremltools.converters.mil import Builder as mb

    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("dilated pooling has no MIL equivalent")
    ceil = False
    if spec.ceil_mode:
        ctx.need_shape(node.inputs[0])
        if fn == "avg_pool" and spec.count_include_pad and any(spec.ceil_extra()):
            if not spec.symmetric or spec.n > 2 or _mil_ceil_sizes(spec) != spec.out_spatial():
                raise ctx.fail(
                    "average pooling in ceil mode that counts the padding, with asymmetric pads or a last window "
                    "that MIL sizes differently, has no MIL equivalent"
                )
            ceil = True
        else:
            spec = PoolSpec(spec.with_ceil_as_padding(), spec.count_include_pad, spec.p)
    out = getattr(mb, fn)(
        x=ctx.var(node.inputs[0]),
        kernel_sizes=spec.kernel,
        strides=spec.strides,
        pad_type="custom",
        pad=mil_pads(spec),
        ceil_mode=ceil,
        name=ctx.out(node),
        **extra,
    )
    ctx.set(node, out)


@TO_MIL.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None, storage_order=0,
             strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool's indices output has no MIL equivalent")
    _pool(
        node, ctx, "max_pool", PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    )


@TO_MIL.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=None,
                 pads=None, strides=None):  # fmt: skip
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, count_include_pad)
    _pool(node, ctx, "avg_pool", spec, exclude_padding_from_average=not spec.count_include_pad)


@TO_MIL.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None, strides=None):
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, 1, p)
    if p != 2:
        raise ctx.fail("LpPool with p=%d has no MIL equivalent (l2_pool is p=2)" % p)
    _pool(node, ctx, "l2_pool", spec)


def _global(node, ctx, fn):
    from coremltools.converters.mil import Builder as mb

    rank = ctx.need_rank(node.inputs[0])
    reduce = getattr(mb, fn)
    ctx.set(
        node,
        reduce(x=ctx.var(node.inputs[0]), axes=np.arange(2, rank, dtype=np.int32), keep_dims=True, name=ctx.out(node)),
    )


@TO_MIL.register("GlobalAveragePool")
def global_average_pool(node, ctx):
    _global(node, ctx, "reduce_mean")


@TO_MIL.register("GlobalMaxPool")
def global_max_pool(node, ctx):
    _global(node, ctx, "reduce_max")


@TO_MIL.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    if p not in (1, 2):
        raise ctx.fail("GlobalLpPool with p=%d has no MIL reduction (p 1 or 2)" % p)
    _global(node, ctx, "reduce_l%d_norm" % p)

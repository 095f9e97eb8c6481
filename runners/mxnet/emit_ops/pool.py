"""MaxPool, AveragePool, LpPool and their global forms, from the shared PoolSpec.

MXNet's Pooling pads both ends alike; other pads are made by an explicit pad (-inf for max, 0 for
the others). Its ceil mode ('full') keeps a last window that starts in the end padding, which
ONNX drops: that row is cut off. Dilated windows (which Pooling lacks) are the maximum of the
strided slices at each kernel offset."""

import itertools

from runners.common.specs import PoolSpec

from ..codegen import EMIT, lit
from ._window import crop_spatial, pad_spatial


def _float_input(ctx, x, kind):
    """The input as a float for Pooling (MXNet pools floats only): integers are cast (exact for
    the max of integers up to 2**53), with the dtype to cast back to."""
    src = ctx.x(x)
    if ctx.is_float(x):
        return src, None
    if kind != "max":
        ctx.need_float(x, "Pooling")
    held = ctx.held_dtype(x)
    wide = "float32" if held in ("uint8", "int8") else "float64"
    return ctx.temp(ctx.call("cast", src, dtype=wide), "float"), held


def _dilated(node, ctx, src, spec, rank, fill, combine):
    """`combine` (broadcast_maximum or broadcast_add) over the kernel offsets of strided slices of
    the input padded with `fill`: a dilated window, which MXNet's Pooling lacks."""
    ctx.need_shape(node.input(0))
    want = spec.out_spatial()
    spec = spec.with_ceil_as_padding()
    padded = pad_spatial(ctx, src, rank, spec.begins, spec.ends, fill)
    acc = None
    for offset in itertools.product(*[range(k) for k in spec.kernel]):
        lo = [None, None] + [o * d for o, d in zip(offset, spec.dilations)]
        hi = [None, None] + [o * d + (w - 1) * s + 1 for o, d, w, s in zip(offset, spec.dilations, want, spec.strides)]
        step = [None, None] + list(spec.strides)
        part = ctx.temp(ctx.call("slice", padded, begin=tuple(lo), end=tuple(hi), step=tuple(step)), "win")
        acc = part if acc is None else ctx.temp(ctx.call(combine, acc, part), "acc")
    return acc


def _pool(node, ctx, spec, kind, count_include_pad=None):
    x = node.input(0)
    rank = ctx.need_rank(x)
    if rank not in (3, 4, 5) or spec.n != rank - 2:
        raise ctx.fail("MXNet pools 1-D to 3-D windows of N C ... tensors, not a %d-D input" % rank)
    src, back = _float_input(ctx, x, kind)
    if any(d != 1 for d in spec.dilations):
        if kind != "max":
            raise ctx.fail("dilated %s pooling has no MXNet operator" % kind)
        out = _dilated(node, ctx, src, spec, rank, float("-inf"), "broadcast_maximum")
        ctx.assign(node, ctx.call("cast", out, dtype=back) if back else ctx.call("identity", out))
        return
    begins = spec.begins
    if not spec.symmetric:
        if kind == "avg" and not count_include_pad:
            raise ctx.fail(
                "average pooling that excludes asymmetric padding reached the MXNet emitter; the broker "
                "legalizes this form (AveragePool.exclude_pad_asymmetric)",
                reference="internal-bug",
            )
        src = pad_spatial(ctx, src, rank, spec.begins, spec.ends, float("-inf") if kind == "max" else 0.0)
        begins = [0] * spec.n
    expr = ctx.call(
        "Pooling",
        src,
        kernel=tuple(spec.kernel),
        pool_type=kind,
        stride=tuple(spec.strides),
        pad=tuple(begins) if any(begins) else None,
        pooling_convention="full" if spec.ceil_mode else None,
        count_include_pad=count_include_pad,
    )
    cut = [None] * spec.n
    if spec.ceil_mode:
        # MXNet's 'full' output: every window that starts inside the padded input
        want = spec.out_spatial() or ctx.need_shape(node.outputs[0])[2:]
        spatial = spec.in_spatial or ctx.need_shape(x)[2:]
        padded = [i + b + e for i, b, e in zip(spatial, spec.begins, spec.ends)]
        full = [-(-(p - k) // s) + 1 for p, k, s in zip(padded, spec.kernel, spec.strides)]
        cut = [w if f != w else None for f, w in zip(full, want)]
    if back or any(c is not None for c in cut):
        out = crop_spatial(ctx, ctx.temp(expr, "pool"), rank, [0] * spec.n, cut)
        expr = ctx.call("cast", out, dtype=back) if back else ctx.call("identity", out)
    ctx.assign(node, expr)


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MXNet's Pooling gives no indices (MaxPool's second output)")
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    _pool(node, ctx, spec, "max")


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, kernel_shape=None, pads=None,
                 strides=None, dilations=None):  # fmt: skip
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, count_include_pad)
    _pool(node, ctx, spec, "avg", bool(count_include_pad))


def _power(ctx, src, p):
    if p == 1:
        return ctx.temp(ctx.call("abs", src), "abs")
    if p == 2:
        return ctx.temp(ctx.call("square", src), "sq")
    return ctx.temp("%s ** %s" % (ctx.call("abs", src), lit(float(p))), "pow")


def _root(ctx, expr, p):
    if p == 1:
        return ctx.call("identity", expr)
    if p == 2:
        return ctx.call("sqrt", expr)
    return ctx.call("identity", "%s ** %s" % (expr, lit(1.0 / p)))


@EMIT.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):  # fmt: skip
    """(sum of |x|^p over the window)^(1/p): a sum pooling of |x|^p, padded cells adding nothing."""
    ctx.need_float(node.input(0), "LpPool")
    ctx.need_shape(node.input(0))
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, 1, p)
    rank = ctx.need_rank(node.input(0))
    powered = _power(ctx, ctx.x(node.input(0)), p)
    if any(d != 1 for d in spec.dilations):
        ctx.assign(node, _root(ctx, _dilated(node, ctx, powered, spec, rank, 0.0, "broadcast_add"), p))
        return
    spec = spec.with_ceil_as_padding()  # the cells ceil mode adds are zeros: they add nothing
    src = pad_spatial(ctx, powered, rank, spec.begins, spec.ends)
    total = ctx.temp(ctx.call("Pooling", src, kernel=tuple(spec.kernel), pool_type="sum", stride=tuple(spec.strides)),
                     "sum")  # fmt: skip
    ctx.assign(node, _root(ctx, total, p))


def _global(node, ctx, kind, p=None):
    x = node.input(0)
    rank = ctx.need_rank(x)
    if rank not in (3, 4, 5):
        raise ctx.fail("MXNet pools 3-D to 5-D tensors only, not %d-D" % rank)
    if p is not None:
        ctx.need_float(x, node.op_type)
        total = ctx.temp(ctx.call("Pooling", _power(ctx, ctx.x(x), p), kernel=(1,) * (rank - 2), pool_type="sum",
                                  global_pool=True), "sum")  # fmt: skip
        ctx.assign(node, _root(ctx, total, p))
        return
    src, back = _float_input(ctx, x, kind)
    expr = ctx.call("Pooling", src, kernel=(1,) * (rank - 2), pool_type=kind, global_pool=True)
    ctx.assign(node, ctx.call("cast", ctx.temp(expr, "pool"), dtype=back) if back else expr)


@EMIT.register("GlobalAveragePool")
def global_average_pool(node, ctx):
    _global(node, ctx, "avg")


@EMIT.register("GlobalMaxPool")
def global_max_pool(node, ctx):
    _global(node, ctx, "max")


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    _global(node, ctx, "lp", p=int(p))

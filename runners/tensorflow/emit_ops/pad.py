"""Pad: zeros around the spatial axes as layers.ZeroPaddingND, other constants and reflection as
keras.ops.pad, edge padding as repeated border slices; negative pads crop."""

import numpy as np

from ..codegen import EMIT, channels_last, lit
from ._spatial import zero_pad


def _index(rank, axis, part):
    """A Python index taking `part` of stored axis `axis` and everything of the others."""
    parts = [":"] * rank
    parts[axis] = part
    return "[%s]" % ", ".join(parts)


def _edge(ctx, var, widths, hint):
    """Each stored axis extended by repeating its first and last slices."""
    rank = len(widths)
    for p, (b, e) in enumerate(widths):
        if not b and not e:
            continue
        parts = []
        if b:
            parts.append("keras.ops.repeat(%s%s, %d, axis=%d)" % (var, _index(rank, p, "0:1"), b, p))
        parts.append(var)
        if e:
            parts.append("keras.ops.repeat(%s%s, %d, axis=%d)" % (var, _index(rank, p, "-1:"), e, p))
        var = ctx.temp("keras.ops.concatenate([%s], axis=%d)" % (", ".join(parts), p), hint + "_edge")
    return var


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    x = node.inputs[0]
    var, layout = ctx.any(x)
    rank = len(layout)
    pads = [int(v) for v in ctx.need_const(node, 1, "the pads")]
    value = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(2) and value is None:
        raise ctx.fail("the Pad value must be a constant")
    value = 0 if value is None or not value.size else np.asarray(value).reshape(-1)[0].item()
    axes = [int(a) % rank for a in ctx.need_const(node, 3, "the axes")] if node.input(3) else list(range(rank))
    begins, ends = [0] * rank, [0] * rank
    for k, a in enumerate(axes):
        begins[a], ends[a] = pads[k], pads[k + len(axes)]
    if mode not in ("constant", "reflect", "edge"):
        raise ctx.fail("Pad mode '%s' is not converted" % mode)
    hint = ctx.weight_hint(node)
    spatial_zeros = mode == "constant" and value == 0 and 3 <= rank <= 5 and not any(begins[:2] + ends[:2])
    if spatial_zeros and min(begins + ends) >= 0:
        cl = channels_last(rank)
        ctx.alias(node, zero_pad(ctx, ctx.x(x, cl), begins[2:], ends[2:], hint), cl)
        return
    if min(begins + ends) < 0:  # negative pads remove rows
        shape = ctx.need_shape(x)
        parts = ["%d:%d" % (max(0, -begins[a]), shape[a] - max(0, -ends[a])) for a in layout]
        var = ctx.temp("%s[%s]" % (var, ", ".join(parts)), hint + "_crop")
        begins, ends = [max(0, v) for v in begins], [max(0, v) for v in ends]
    widths = [[begins[a], ends[a]] for a in layout]
    if mode == "edge":
        ctx.alias(node, _edge(ctx, var, widths, hint), layout)
        return
    extra = ", mode='reflect'" if mode == "reflect" else (", constant_values=%s" % lit(value) if value else "")
    ctx.assign(node, "keras.ops.pad(%s, %s%s)" % (var, lit(widths), extra), layout)

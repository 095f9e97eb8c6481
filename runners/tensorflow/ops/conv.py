"""Conv (regular, depthwise, grouped) and Pad."""

import numpy as np

from runners.common.codegen import explicit_pads

from ..codegen import EMIT, channels_last, identity, lit, pair
from ._spatial import is_tf_same, zero_pad


def _per_channel(c, channels, rank):
    if c.size == 1:
        return rank is not None and c.ndim <= rank
    if rank is None or c.ndim > rank:
        return False
    full = (1,) * (rank - c.ndim) + tuple(c.shape)
    return full == (1, channels) + (1,) * (rank - 2)


def _fold_affine(node, ctx, out_channels):
    """A per-channel Mul and/or Add right after the conv (tf2onnx leaves folded batch norms so):
    returns (scale, shift, last node) to fold into the conv's weights."""
    scale = np.ones(out_channels, np.float32)
    shift = np.zeros(out_channels, np.float32)
    last = node
    while True:
        nxt = ctx.sole_consumer(last.outputs[0])
        if nxt is None or nxt.op_type not in ("Mul", "Add"):
            break
        other = [i for i in nxt.inputs if i != last.outputs[0]]
        c = ctx.const(other[0]) if len(other) == 1 else None
        if c is None or not _per_channel(c, out_channels, ctx.rank(last.outputs[0])):
            break
        v = c.reshape(-1).astype(np.float32)
        if nxt.op_type == "Mul":
            scale, shift = scale * v, shift * v
        else:
            shift = shift + v
        ctx.absorb(nxt)
        last = nxt
    return scale, shift, last


@EMIT.register("Conv", since=11)
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x = node.inputs[0]
    w = ctx.need_const(node, 1, "the weight")
    b = ctx.const(node.input(2)) if node.input(2) else None
    if node.input(2) and b is None:
        raise ctx.fail("the bias must be a constant")
    n = w.ndim - 2
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D convolution has no Keras layer" % n)
    kernel = list(kernel_shape or w.shape[2:])
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    p = explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad)
    begins, ends = p[:n], p[n:]
    cin = w.shape[1] * group
    cout = w.shape[0]
    scale, shift, last = _fold_affine(node, ctx, cout)
    bias = (b.astype(np.float32) if b is not None else np.zeros(cout, np.float32)) * scale + shift
    use_bias = b is not None or last is not node
    w = w.astype(np.float32) * scale.reshape((-1,) + (1,) * (n + 1))
    cl = channels_last(n + 2)
    src = ctx.x(x, cl)
    if any(begins) or any(ends):
        if n == 2 and all(s == 1 for s in strides) and is_tf_same(ctx, x, kernel, strides, dilations, begins, ends):
            padding = "same"
        else:
            src = zero_pad(node, ctx, src, begins, ends, ctx.weight_hint(node) + "_pad")
            padding = "valid"
    else:
        padding = "valid"
    opts = []
    if any(s != 1 for s in strides):
        opts.append("strides=%s" % pair(strides))
    if padding != "valid":
        opts.append("padding=%r" % padding)
    if any(d != 1 for d in dilations):
        opts.append("dilation_rate=%s" % pair(dilations))
    if not use_bias:
        opts.append("use_bias=False")
    spatial = tuple(range(2, n + 2))
    if group == cin and group > 1 and cout % cin == 0 and n == 2:
        mult = cout // cin
        kernel_arr = w.reshape((cin, mult) + w.shape[2:]).transpose(spatial + (0, 1))
        ctor = "layers.DepthwiseConv2D(%s%s)" % (pair(kernel), "".join(", " + o for o in opts))
        if mult != 1:
            ctor = ctor[:-1] + ", depth_multiplier=%d)" % mult
    else:
        kernel_arr = w.transpose(spatial + (1, 0))
        if group != 1:
            opts.append("groups=%d" % group)
        ctor = "layers.Conv%dD(%d, %s%s)" % (n, cout, pair(kernel), "".join(", " + o for o in opts))
    params = [kernel_arr] + ([bias] if use_bias else [])
    ctx.layer(node, ctor, [src], cl, params=params, outputs=last.outputs)


@EMIT.register("Pad", since=18)
def pad(node, ctx, mode="constant"):
    x = node.inputs[0]
    pads = [int(v) for v in ctx.need_const(node, 1, "the pads")]
    value = ctx.const(node.input(2)) if node.input(2) else None
    value = 0.0 if value is None else float(np.asarray(value).reshape(-1)[0])
    if node.input(3):
        raise ctx.fail("Pad with axes is not supported")
    rank = len(pads) // 2
    begins, ends = pads[:rank], pads[rank:]
    if mode == "constant" and value == 0.0 and rank in (3, 4, 5) and not any(begins[:2] + ends[:2]):
        cl = channels_last(rank)
        var = zero_pad(node, ctx, ctx.x(x, cl), begins[2:], ends[2:], ctx.weight_hint(node))
        ctx.alias(node, var, cl)
        return
    modes = {"constant": "constant", "reflect": "reflect", "edge": "symmetric"}
    if mode not in modes or mode == "edge":
        raise ctx.fail("Pad mode '%s' is not supported" % mode)
    widths = [[b, e] for b, e in zip(begins, ends)]
    extra = ", constant_values=%s" % lit(value) if mode == "constant" and value else ""
    extra += ", mode=%r" % modes[mode] if mode != "constant" else ""
    ctx.assign(node, "keras.ops.pad(%s, %s%s)" % (ctx.x(x), lit(widths), extra), identity(rank))

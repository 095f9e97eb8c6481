"""Conv (regular, depthwise, grouped; 1-D to 3-D) and ConvTranspose, from the specs of
runners/common/specs.py."""

import numpy as np

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..codegen import EMIT, channels_last, pair
from ._spatial import crop, zero_pad


def _per_channel(c, channels, rank):
    if c.size == 1:
        return rank is not None and c.ndim <= rank
    if rank is None or c.ndim > rank:
        return False
    full = (1,) * (rank - c.ndim) + tuple(c.shape)
    return full == (1, channels) + (1,) * (rank - 2)


def _absorb_affine(node, ctx, out_channels):
    """A per-channel Mul and/or Add right after the conv (how tf2onnx writes a Keras convolution
    whose batch normalization was folded into it): (scale, shift, last node), the conv's layer
    then holds them in its weights and bias."""
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


def _options(strides, dilations, padding="valid", use_bias=True):
    opts = []
    if any(s != 1 for s in strides):
        opts.append("strides=%s" % pair(strides))
    if padding != "valid":
        opts.append("padding=%r" % padding)
    if any(d != 1 for d in dilations):
        opts.append("dilation_rate=%s" % pair(dilations))
    if not use_bias:
        opts.append("use_bias=False")
    return opts


@EMIT.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    n = spec.n
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D convolution has no Keras layer" % n)
    if any(s > 1 for s in spec.strides) and any(d > 1 for d in spec.dilations):
        raise ctx.fail("Keras convolutions take strides or dilations above 1, not both")
    cout, cin = spec.out_channels, spec.in_channels
    scale, shift, last = _absorb_affine(node, ctx, cout)
    b = spec.bias
    bias = (b.astype(np.float32) if b is not None else np.zeros(cout, np.float32)) * scale + shift
    use_bias = b is not None or last is not node
    w = spec.weight.astype(np.float32) * scale.reshape((-1,) + (1,) * (n + 1))
    cl = channels_last(n + 2)
    src = ctx.x(node.inputs[0], cl)
    padding = "valid"
    if spec.padded:
        if all(s == 1 for s in spec.strides) and spec.same_padding():
            padding = "same"  # stride 1: TensorFlow's 'same' pads what ONNX pads here, whatever the size
        else:
            src = zero_pad(ctx, src, spec.begins, spec.ends, ctx.weight_hint(node) + "_pad")
    opts = _options(spec.strides, spec.dilations, padding, use_bias)
    spatial = tuple(range(2, n + 2))
    if spec.depthwise and cout % cin == 0 and n in (1, 2):
        mult = cout // cin
        kernel_arr = w.reshape((cin, mult) + w.shape[2:]).transpose(spatial + (0, 1))
        if mult != 1:
            opts.append("depth_multiplier=%d" % mult)
        ctor = "layers.DepthwiseConv%dD(%s%s)" % (n, pair(spec.kernel), "".join(", " + o for o in opts))
    else:
        kernel_arr = w.transpose(spatial + (1, 0))
        if spec.group != 1:
            opts.append("groups=%d" % spec.group)
        ctor = "layers.Conv%dD(%d, %s%s)" % (n, cout, pair(spec.kernel), "".join(", " + o for o in opts))
    params = [kernel_arr] + ([bias] if use_bias else [])
    ctx.layer(node, ctor, [src], cl, params=params, outputs=last.outputs)


@EMIT.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """The full transposed convolution (`padding='valid'`, output_padding at its end), then the
    rows ONNX's pads remove cropped; a grouped one as one layer per group, concatenated."""
    spec = ConvTransposeSpec.of(ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape,
                                pads, strides)  # fmt: skip
    n = spec.n
    if n not in (1, 2, 3):
        raise ctx.fail("%d-D transposed convolution has no Keras layer" % n)
    if any(s > 1 for s in spec.strides) and any(d > 1 for d in spec.dilations):
        raise ctx.fail("Keras transposed convolutions take strides or dilations above 1, not both")
    if any(p and p >= s for p, s in zip(spec.out_pad, spec.strides)):
        raise ctx.fail("Keras takes an output_padding %s only below the strides %s" % (spec.out_pad, spec.strides))
    cl = channels_last(n + 2)
    src = ctx.x(node.inputs[0], cl)
    hint = ctx.weight_hint(node)
    opts = _options(spec.strides, spec.dilations, "valid", spec.bias is not None)
    if any(spec.out_pad) or any((k - 1) * d + 1 < s for k, d, s in zip(spec.kernel, spec.dilations, spec.strides)):
        opts.append("output_padding=%s" % pair(spec.out_pad))  # else Keras sizes a short kernel's output itself
    if spec.group == 1 and not any(spec.begins + spec.ends):
        ctx.layer(node, _transposed(spec, opts), [src], cl, params=_transposed_params(spec, 0))
        return
    outs = []
    for g in range(spec.group):
        part = src
        if spec.group > 1:
            cin = spec.in_channels // spec.group
            part = ctx.temp("%s[..., %d:%d]" % (src, g * cin, (g + 1) * cin), "%s_group%d_in" % (hint, g))
        name = "%s_group%d" % (hint, g) if spec.group > 1 else hint
        outs.append(ctx.layer_var(_transposed(spec, opts), [part], name, params=_transposed_params(spec, g)))
    full = outs[0]
    if spec.group > 1:
        full = ctx.layer_var("layers.Concatenate(axis=-1)", outs, hint + "_groups")
    ctx.alias(node, crop(ctx, full, spec.begins, spec.ends, hint + "_crop"), cl)


def _transposed(spec, opts):
    n, cout_g = spec.n, spec.out_channels // spec.group
    return "layers.Conv%dDTranspose(%d, %s%s)" % (n, cout_g, pair(spec.kernel), "".join(", " + o for o in opts))


def _transposed_params(spec, g):
    """Group g's kernel ([C_in, C_out/group, k...] -> Keras [k..., C_out/group, C_in/group]) and bias."""
    cin, cout_g = spec.in_channels // spec.group, spec.out_channels // spec.group
    w = spec.weight[g * cin : (g + 1) * cin].astype(np.float32)
    params = [w.transpose(tuple(range(2, spec.n + 2)) + (1, 0))]
    if spec.bias is not None:
        params.append(spec.bias[g * cout_g : (g + 1) * cout_g])
    return params

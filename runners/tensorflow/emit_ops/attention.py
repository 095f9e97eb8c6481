"""Attention (ONNX opset 23) as keras.ops.dot_product_attention. The IR is at opset 18: an Attention
node reaches this emitter only from the fusion of the scaled-dot-product pattern
(broker/ir/fuse.py), with 4-D query, key and value ([batch, heads, sequence, head size] in the IR;
Keras takes them as [batch, sequence, heads, head size], the storage order (0, 2, 1, 3) here), an
optional mask (boolean: True takes part; float: added to the scores) and no past key/value."""

import numpy as np

from ..codegen import EMIT, identity, lit

_BSHD = (0, 2, 1, 3)


@EMIT.register("Attention")
def attention(node, ctx, is_causal=0, kv_num_heads=0, q_num_heads=0, qk_matmul_output_mode=0, scale=None,
              softcap=0.0, softmax_precision=None):  # fmt: skip
    if len([i for i in node.inputs[4:] if i]) or len([o for o in node.outputs[1:] if o]):
        raise ctx.fail("Attention with a past key/value cache or extra outputs has no dot_product_attention form")
    if softcap or qk_matmul_output_mode:
        raise ctx.fail("Attention with softcap or qk_matmul_output_mode has no dot_product_attention form")
    q, k, v = node.inputs[:3]
    if any(ctx.rank(x) != 4 for x in (q, k, v)):
        raise ctx.fail("Attention takes 4-D query, key and value here ([batch, heads, sequence, head size])")
    args = [ctx.x(q, _BSHD), ctx.x(k, _BSHD), ctx.x(v, _BSHD)]
    mask = node.input(3)
    if mask:
        rank = ctx.need_rank(mask)
        kind = "mask" if np.dtype(ctx.dtype(mask) or np.float32) == np.bool_ else "bias"
        args.append("%s=%s" % (kind, ctx.x(mask, identity(rank))))
    if scale is not None:
        args.append("scale=%s" % lit(float(scale)))
    if is_causal:
        args.append("is_causal=True")
    ctx.assign(node, "keras.ops.dot_product_attention(%s)" % ", ".join(args), _BSHD)

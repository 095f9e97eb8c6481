"""Attention (ONNX opset 23) as F.scaled_dot_product_attention. The IR is at opset 18: an Attention
node reaches this emitter only from the fusion of the scaled-dot-product pattern
(broker/ir/fuse.py), with 4-D query, key and value ([batch, heads, sequence, head size]), an
optional mask (boolean: True takes part; float: added to the scores) and no past key/value."""

import math

from ..codegen import EMIT


@EMIT.register("Attention")
def attention(node, ctx, is_causal=0, kv_num_heads=0, q_num_heads=0, qk_matmul_output_mode=0, scale=None,
              softcap=0.0, softmax_precision=None):  # fmt: skip
    if len([i for i in node.inputs[4:] if i]) or len([o for o in node.outputs[1:] if o]):
        raise ctx.fail(
            "Attention with a past key/value cache or extra outputs has no F.scaled_dot_product_attention form"
        )
    if softcap or qk_matmul_output_mode:
        raise ctx.fail("Attention with softcap or qk_matmul_output_mode has no F.scaled_dot_product_attention form")
    q, k, v = node.inputs[:3]
    if any(ctx.rank(x) != 4 for x in (q, k, v)):
        raise ctx.fail("Attention takes 4-D query, key and value here ([batch, heads, sequence, head size])")
    mask = node.input(3)
    if mask and is_causal:
        raise ctx.fail("Attention with both a mask and is_causal has no F.scaled_dot_product_attention form")
    args = [ctx.x(q), ctx.x(k), ctx.x(v)]
    if mask:
        args.append("attn_mask=%s" % ctx.x(mask))
    if is_causal:
        args.append("is_causal=True")
    if scale is not None:
        head = (ctx.shape(q) or [None] * 4)[3]
        if not (head and math.isclose(scale, 1.0 / math.sqrt(head), rel_tol=1e-6)):
            args.append("scale=%s" % repr(float(scale)))
    ctx.assign(node, "F.scaled_dot_product_attention(%s)" % ", ".join(args))

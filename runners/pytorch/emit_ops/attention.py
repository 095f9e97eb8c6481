"""Attention (ONNX opset 23) as F.scaled_dot_product_attention. The IR is at opset 18: an Attention
node reaches this emitter only from the fusion of the scaled-dot-product pattern
(broker/ir/fuse.py); its form is resolved in runners/common/specs.py (AttentionSpec)."""

from runners.common.specs import AttentionSpec

from ..codegen import EMIT


@EMIT.register("Attention")
def attention(node, ctx, is_causal=0, kv_num_heads=0, q_num_heads=0, qk_matmul_output_mode=0, scale=None,
              softcap=0.0, softmax_precision=None):  # fmt: skip
    spec = AttentionSpec(ctx, node, "F.scaled_dot_product_attention", is_causal, qk_matmul_output_mode, scale, softcap)
    args = [ctx.x(spec.query), ctx.x(spec.key), ctx.x(spec.value)]
    if spec.mask:  # torch takes both kinds of mask as ONNX does (boolean: True takes part)
        args.append("attn_mask=%s" % ctx.x(spec.mask))
    if spec.is_causal:
        args.append("is_causal=True")
    if spec.scale is not None:
        args.append("scale=%r" % spec.scale)
    ctx.assign(node, "F.scaled_dot_product_attention(%s)" % ", ".join(args))

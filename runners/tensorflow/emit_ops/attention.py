"""Attention (ONNX opset 23) as keras.ops.dot_product_attention. The IR is at opset 18: an Attention
node reaches this emitter only from the fusion of the scaled-dot-product pattern
(broker/ir/fuse.py); its form is resolved in runners/common/specs.py (AttentionSpec). Keras takes
query, key and value as [batch, sequence, heads, head size]: the storage order (0, 2, 1, 3) of the
IR's [batch, heads, sequence, head size]."""

from runners.common.specs import AttentionSpec

from ..codegen import EMIT, identity, lit

_BSHD = (0, 2, 1, 3)


@EMIT.register("Attention")
def attention(node, ctx, is_causal=0, kv_num_heads=0, q_num_heads=0, qk_matmul_output_mode=0, scale=None,
              softcap=0.0, softmax_precision=None):  # fmt: skip
    spec = AttentionSpec(ctx, node, "keras.ops.dot_product_attention", is_causal, qk_matmul_output_mode, scale, softcap)
    args = [ctx.x(spec.query, _BSHD), ctx.x(spec.key, _BSHD), ctx.x(spec.value, _BSHD)]
    if spec.mask:  # a boolean mask says who takes part, a float one is added to the scores
        mask = ctx.x(spec.mask, identity(ctx.need_rank(spec.mask)))
        args.append("%s=%s" % ("mask" if spec.mask_is_bool else "bias", mask))
    if spec.scale is not None:
        args.append("scale=%s" % lit(spec.scale))
    if spec.is_causal:
        args.append("is_causal=True")
    ctx.assign(node, "keras.ops.dot_product_attention(%s)" % ", ".join(args), _BSHD)

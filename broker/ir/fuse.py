"""Fuse common decompositions back into the op they spell out, for a target that has that op:
exporters write GELU as five lines of erf (or tanh) arithmetic, LayerNorm as ReduceMean/Sub/Pow/
Sqrt/Div, hard-swish as Add/Clip/Mul/Div, PReLU as Where or Relu arithmetic, attention as
MatMul/Mul/Add/Softmax/MatMul; generated code that a person retrains should call the framework's
own `nn.GELU`, `nn.LayerNorm`, `nn.Hardswish`, `nn.PReLU`, `F.scaled_dot_product_attention` (Keras
`gelu`, `LayerNormalization`, `PReLU`, `ops.dot_product_attention`).

The patterns are onnxscript's rewriter rules (pinned in pyproject.toml): its LayerNorm and
hard-swish fusions produce standard ONNX ops and are used as they are; its GELU and attention
patterns (in `ort_fusions`) produce onnxruntime's own ops, so the rules below reuse those patterns
with a standard `Gelu` (ONNX opset 20) or `Attention` (opset 23, 4-D Q/K/V, additive mask, `scale`)
as the replacement. The IR is at opset 18: a fused graph goes only to an emitter that declares the
op (its converter takes the newer opset's definition), never into a saved IR. Each fusion keeps
the metadata of the nodes it replaces, so the fused layer keeps its source module's name
(runners/common/naming.py).

`fuse_for(model, has)` applies a fusion only when `has(op)` says the target expresses the op it
produces; nothing else in the graph changes.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import onnx

from . import preload

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_rules() -> list[Any]:
    from onnxscript.rewriter import pattern
    from onnxscript.rewriter.ort_fusions import erfgelu

    def gelu_erf(op: Any, x: Any) -> Any:
        return op.Gelu(x)

    def gelu_tanh_pow(op: Any, x: Any) -> Any:
        # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), as torch and TensorFlow export it
        inner = op.Mul(_SQRT_2_OVER_PI, op.Add(x, op.Mul(0.044715, op.Pow(x, 3.0))))
        return op.Mul(x, op.Mul(0.5, op.Add(op.Tanh(inner), 1.0)))

    def gelu_tanh_pow_half_first(op: Any, x: Any) -> Any:
        inner = op.Mul(_SQRT_2_OVER_PI, op.Add(x, op.Mul(0.044715, op.Pow(x, 3.0))))
        return op.Mul(op.Mul(0.5, x), op.Add(op.Tanh(inner), 1.0))

    def gelu_tanh(op: Any, x: Any) -> Any:
        return op.Gelu(x, approximate="tanh")

    return [
        pattern.RewriteRule(erfgelu.erf_gelu_pattern_1, gelu_erf, name="FuseGeluErf"),
        pattern.RewriteRule(erfgelu.erf_gelu_pattern_2, gelu_erf, name="FuseGeluErfHalfLast"),
        pattern.RewriteRule(gelu_tanh_pow, gelu_tanh, name="FuseGeluTanh"),
        pattern.RewriteRule(gelu_tanh_pow_half_first, gelu_tanh, name="FuseGeluTanhHalfFirst"),
    ]


def _attention_rules() -> list[Any]:
    from onnxscript.rewriter.ort_fusions import sdpa

    class AttentionFusion(sdpa.SDPA):
        """onnxscript's scaled-dot-product attention pattern (scores = Q K^T, scaled, masked,
        softmax, times V; the key in BHSd or BSHd order), written as the standard ONNX Attention."""

        def rewrite(self, op: Any, query: Any, key: Any, value: Any, mask: Any, key_format: str, **_: Any) -> Any:
            if key_format == "BSHd":
                key = op.Transpose(key, perm=[0, 2, 1, 3])
            args = [query, key, value] + ([mask] if mask is not None else [])
            return op.Attention(*args, **({} if self._scale is None else {"scale": float(self._scale)}))

    return [AttentionFusion.rule(name="FuseAttention")]


def _prelu_rules() -> list[Any]:
    """PReLU as exporters without the op write it: `Where(x > 0, x, x * slope)` (also `>=`) and
    `Relu(x) - slope * Relu(-x)`, for a constant slope (ONNX PRelu broadcasts it to x)."""
    from onnxscript.rewriter import pattern

    def constant_slope(context: Any, x: Any, slope: Any, zero: Any = None, **_: Any) -> Any:
        result = pattern.MatchResult()
        if slope.const_value is None:
            return result.fail("the slope is computed", slope)
        dims = x.shape.dims if x.shape is not None else None
        s = tuple(slope.const_value.shape.dims)
        if (
            dims is None
            or len(s) > len(dims)
            or any(b != 1 and (not isinstance(a, int) or a != b) for a, b in zip(dims[len(dims) - len(s) :], s))
        ):  # PRelu broadcasts the slope to x, not x to the slope
            return result.fail("the slope does not broadcast to x", slope)
        if zero is not None and (zero.const_value is None or float(zero.const_value.numpy().max(initial=0)) != 0.0
                                 or zero.const_value.numpy().size != 1):  # fmt: skip
            return result.fail("the comparison is not with 0", zero)
        return result

    def where_greater(op: Any, x: Any, zero: Any, slope: Any) -> Any:
        return op.Where(op.Greater(x, zero), x, op.Mul(x, slope))

    def where_greater_equal(op: Any, x: Any, zero: Any, slope: Any) -> Any:
        return op.Where(op.GreaterOrEqual(x, zero), x, op.Mul(x, slope))

    def relu_difference(op: Any, x: Any, slope: Any) -> Any:
        return op.Sub(op.Relu(x), op.Mul(slope, op.Relu(op.Neg(x))))

    def prelu(op: Any, x: Any, slope: Any, **_: Any) -> Any:
        return op.PRelu(x, slope)

    return [
        pattern.RewriteRule(where_greater, prelu, constant_slope, name="FusePReluWhereGreater"),
        pattern.RewriteRule(where_greater_equal, prelu, constant_slope, name="FusePReluWhereGreaterOrEqual"),
        pattern.RewriteRule(relu_difference, prelu, constant_slope, name="FusePReluRelus"),
    ]


def _rules(has: Callable[[str], bool], present: set[str]) -> list[Any]:
    """The fusion rules whose product the target has and whose pattern's ops are in the graph
    (`present`): matching rules against every node costs more than the rest of the passes (half a
    second on a ResNet-50 that has nothing to fuse), so a rule set whose pattern cannot match is
    not tried."""
    rules: list[Any] = []
    if has("Gelu") and ("Erf" in present or {"Tanh", "Pow"} <= present):
        rules += _gelu_rules()
    if has("Attention") and {"Softmax", "MatMul"} <= present:
        rules += _attention_rules()
    if has("PRelu") and ("Where" in present or {"Relu", "Neg"} <= present):
        rules += _prelu_rules()
    if has("LayerNormalization") and "ReduceMean" in present:
        from onnxscript.rewriter.rules.fusion import _layer_norm

        rules += _layer_norm.layer_normalization_rules
    if has("HardSwish") and has("HardSigmoid") and present & {"Clip", "HardSigmoid"}:
        from onnxscript.rewriter.rules.common import _fuse_hardswish

        rules += [
            _fuse_hardswish.HardSwishFusion().rule(),
            _fuse_hardswish.HardSigmoidFusion().rule(),
            _fuse_hardswish.HardSwishFusionFromHardSigmoid().rule(),
        ]
    return rules


def fuse_for(model: onnx.ModelProto, has: Callable[[str], bool]) -> tuple[onnx.ModelProto, dict[str, int]]:
    """`model` with the decompositions the target has an op for fused into that op, and how many of
    each op were made. The input is not modified; a model with nothing to fuse is returned as it is."""
    present = _op_types(model.graph)
    preload.wait()
    rules = _rules(has, present)
    if not rules:
        return model, {}
    import onnx_ir as ir
    import onnx_ir.passes.common as common
    from onnxscript.rewriter import RewriteRuleSet

    m = ir.serde.deserialize_model(model)
    before = _count(m)
    count = RewriteRuleSet(rules, commute=True).apply_to_model(m)
    if not count:
        return model, {}
    common.RemoveUnusedNodesPass()(m)
    after = _count(m)
    made = {op: n - before.get(op, 0) for op, n in after.items() if n > before.get(op, 0)}
    return ir.serde.serialize_model(m), made


def _op_types(graph: onnx.GraphProto) -> set[str]:
    """The op types of `graph` and of the graphs inside its nodes (If, Loop, Scan bodies)."""
    ops: set[str] = set()
    for node in graph.node:
        ops.add(node.op_type)
        for attr in node.attribute:
            for g in [attr.g] if attr.HasField("g") else list(attr.graphs):
                ops |= _op_types(g)
    return ops


def _count(m: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for node in m.graph:
        out[node.op_type] = out.get(node.op_type, 0) + 1
    return out

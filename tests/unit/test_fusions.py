"""GELU's erf and tanh arithmetic found again as one Gelu node (runners/common/fusions.py), in the
orders exporters write it; the fused node computes what the arithmetic computed (onnxruntime at
opset 20), and a group whose inner values are read elsewhere stays as it is."""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest
from helpers import onnx_model
from onnx import helper

from runners.common.emit import EmitContext
from runners.common.fusions import fuse_gelu
from runners.common.ir import split

pytestmark = pytest.mark.unit

N = helper.make_node
EXACT_TORCH = [  # torch.onnx's F.gelu: Div, Erf, Add, Mul(0.5, .), Mul(x, .)
    N("Div", ["x", "sqrt2"], ["d"]), N("Erf", ["d"], ["e"]), N("Add", ["e", "one"], ["s"]),
    N("Mul", ["half", "s"], ["h"]), N("Mul", ["x", "h"], ["y"], name="node_gelu"),
]  # fmt: skip
EXACT_HALF_LAST = [  # x * 0.5 * (1 + erf(x * 1/sqrt 2)), the 0.5 applied last
    N("Mul", ["x", "rsqrt2"], ["d"]), N("Erf", ["d"], ["e"]), N("Add", ["one", "e"], ["s"]),
    N("Mul", ["s", "x"], ["h"]), N("Mul", ["h", "half"], ["y"], name="gelu"),
]  # fmt: skip
TANH_GPT2 = [  # GPT-2's NewGELU: 0.5 * x first, then the tanh factor
    N("Mul", ["x", "half"], ["hx"]), N("Pow", ["x", "three"], ["p"]), N("Mul", ["p", "k"], ["pk"]),
    N("Add", ["x", "pk"], ["a"]), N("Mul", ["a", "scale"], ["u"]), N("Tanh", ["u"], ["t"]),
    N("Add", ["t", "one"], ["s"]), N("Mul", ["hx", "s"], ["y"], name="mlp_act"),
]  # fmt: skip
CONSTS = [("sqrt2", math.sqrt(2)), ("rsqrt2", 1 / math.sqrt(2)), ("one", 1.0), ("half", 0.5), ("three", 3.0),
          ("k", 0.044715), ("scale", math.sqrt(2 / math.pi))]  # fmt: skip


def _fused(nodes, outputs=("y",)):
    used = {i for n in nodes for i in n.input}
    model = onnx_model(nodes, [("x", [2, 5])], list(outputs), [(n, v) for n, v in CONSTS if n in used])
    graph, weights = split(model)
    ctx = EmitContext(graph, weights)
    fuse_gelu(ctx)
    return model, ctx


@pytest.mark.parametrize(
    "nodes, approximate, name",
    [(EXACT_TORCH, "none", "node_gelu"), (EXACT_HALF_LAST, "none", "gelu"), (TANH_GPT2, "tanh", "mlp_act")],
    ids=["exact_torch", "exact_half_last", "tanh_gpt2"],
)
def test_gelu_arithmetic_becomes_one_gelu_node(nodes, approximate, name):
    model, ctx = _fused(nodes)
    assert [(n.op_type, n.name, list(n.inputs), list(n.outputs)) for n in ctx.nodes] == [("Gelu", name, ["x"], ["y"])]
    fused = ctx.nodes[0].proto
    assert helper.get_attribute_value(fused.attribute[0]) == approximate.encode()
    assert ctx.consumers["x"] == ctx.nodes

    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32) * 3
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    gelu = onnx_model([fused], [("x", [2, 5])], ["y"], opset=20)
    got = ort.InferenceSession(gelu.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_group_read_elsewhere_or_with_other_constants_stays():
    _, ctx = _fused(EXACT_TORCH, outputs=("y", "e"))  # erf's value is also a graph output
    assert [n.op_type for n in ctx.nodes] == ["Div", "Erf", "Add", "Mul", "Mul"]
    other = [N("Add", ["e", "half"], ["s"]) if n.output == ["s"] else n for n in EXACT_TORCH]  # 0.5 + erf
    _, ctx = _fused(other)
    assert "Gelu" not in [n.op_type for n in ctx.nodes]

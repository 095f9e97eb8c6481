"""Fusions of decompositions back into one op (broker/ir/fuse.py) are exact: each small graph, as an
exporter writes it, runs through onnxruntime before and after (the fused graph at the opset of the op
it uses), and a fusion happens only for a target that has the op."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from broker.ir.fuse import fuse_for
from unit.test_legalize import feeds_for, run

pytestmark = pytest.mark.unit


def model(nodes, inputs, output_shape, inits=()):
    g = h.make_graph(
        nodes,
        "t",
        [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in inputs],
        [h.make_tensor_value_info("y", T.FLOAT, output_shape)],
        [nh.from_array(np.asarray(v, np.float32), n) for n, v in inits],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    return onnx.shape_inference.infer_shapes(m, data_prop=True)


def at_opset(m, opset):
    out = onnx.ModelProto()
    out.CopyFrom(m)
    out.opset_import[0].version = opset
    return out


def check(m, expect, opset=18, rtol=1e-5, atol=1e-6):
    fused, made = fuse_for(m, lambda op: True)
    assert made == expect, made
    x = feeds_for(m)
    for a, b in zip(run(at_opset(fused, opset), x), run(m, x)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return fused


def _gelu_erf(with_metadata=False):
    nodes = [
        h.make_node("Div", ["x", "sqrt2"], ["d"]),
        h.make_node("Erf", ["d"], ["e"]),
        h.make_node("Add", ["e", "one"], ["a"]),
        h.make_node("Mul", ["half", "a"], ["m"]),
        h.make_node("Mul", ["x", "m"], ["y"], name="node_gelu"),
    ]
    if with_metadata:
        for n in nodes:
            n.metadata_props.add(key="pkg.torch.onnx.name_scopes", value="['', 'mlp', 'mlp.act', 'gelu']")
    inits = [("sqrt2", math.sqrt(2.0)), ("one", 1.0), ("half", 0.5)]
    return model(nodes, [("x", [2, 5])], [2, 5], inits)


def test_gelu_erf_form_is_fused_and_keeps_its_module_path():
    fused = check(_gelu_erf(with_metadata=True), {"Gelu": 1}, opset=20)
    (node,) = fused.graph.node
    assert node.op_type == "Gelu" and not [a for a in node.attribute if a.name == "approximate"]
    scopes = {p.key: p.value for p in node.metadata_props}["pkg.torch.onnx.name_scopes"]
    assert "mlp.act" in scopes
    assert not fused.graph.initializer  # the constants of the decomposition went with it


def test_gelu_tanh_form_is_fused():
    nodes = [
        h.make_node("Pow", ["x", "three"], ["p"]),
        h.make_node("Mul", ["c", "p"], ["cp"]),
        h.make_node("Add", ["x", "cp"], ["s"]),
        h.make_node("Mul", ["k", "s"], ["ks"]),
        h.make_node("Tanh", ["ks"], ["t"]),
        h.make_node("Add", ["t", "one"], ["a"]),
        h.make_node("Mul", ["half", "a"], ["m"]),
        h.make_node("Mul", ["x", "m"], ["y"]),
    ]
    inits = [("three", 3.0), ("c", 0.044715), ("k", math.sqrt(2 / math.pi)), ("one", 1.0), ("half", 0.5)]
    fused = check(model(nodes, [("x", [2, 5])], [2, 5], inits), {"Gelu": 1}, opset=20)
    assert fused.graph.node[0].attribute[0].s == b"tanh"


def test_layer_norm_decomposition_is_fused():
    nodes = [
        h.make_node("ReduceMean", ["x", "axes"], ["mu"], keepdims=1),
        h.make_node("Sub", ["x", "mu"], ["d"]),
        h.make_node("Pow", ["d", "two"], ["d2"]),
        h.make_node("ReduceMean", ["d2", "axes"], ["var"], keepdims=1),
        h.make_node("Add", ["var", "eps"], ["ve"]),
        h.make_node("Sqrt", ["ve"], ["sd"]),
        h.make_node("Div", ["d", "sd"], ["n"]),
        h.make_node("Mul", ["n", "gamma"], ["g"]),
        h.make_node("Add", ["g", "beta"], ["y"]),
    ]
    g = h.make_graph(
        nodes,
        "t",
        [h.make_tensor_value_info("x", T.FLOAT, [2, 3, 8])],
        [h.make_tensor_value_info("y", T.FLOAT, [2, 3, 8])],
        [
            nh.from_array(np.array([-1], np.int64), "axes"),
            nh.from_array(np.array(2.0, np.float32), "two"),
            nh.from_array(np.array(1e-5, np.float32), "eps"),
            nh.from_array(np.linspace(0.5, 1.5, 8).astype(np.float32), "gamma"),
            nh.from_array(np.linspace(-0.1, 0.1, 8).astype(np.float32), "beta"),
        ],
    )
    m = onnx.shape_inference.infer_shapes(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]))
    fused = check(m, {"LayerNormalization": 1}, atol=1e-5)
    assert [n.op_type for n in fused.graph.node] == ["LayerNormalization"]


def test_hard_swish_decomposition_is_fused():
    nodes = [
        h.make_node("Add", ["x", "three"], ["a"]),
        h.make_node("Clip", ["a", "zero", "six"], ["c"]),
        h.make_node("Mul", ["c", "x"], ["m"]),
        h.make_node("Div", ["m", "six"], ["y"]),
    ]
    inits = [("three", 3.0), ("zero", 0.0), ("six", 6.0)]
    fused = check(model(nodes, [("x", [2, 5])], [2, 5], inits), {"HardSwish": 1})
    assert [n.op_type for n in fused.graph.node] == ["HardSwish"]


def _attention(key_format):
    """softmax(Q K^T * scale + mask) V as transformers' eager attention exports it: the key
    transposed from [batch, heads, seq, dim] (BHSd) or from [batch, seq, heads, dim] (BSHd)."""
    perm = [0, 1, 3, 2] if key_format == "BHSd" else [0, 2, 3, 1]
    k_shape = [2, 3, 5, 4] if key_format == "BHSd" else [2, 5, 3, 4]
    nodes = [
        h.make_node("Transpose", ["k"], ["kt"], perm=perm),
        h.make_node("MatMul", ["q", "kt"], ["s"]),
        h.make_node("Mul", ["s", "scale"], ["ss"]),
        h.make_node("Add", ["ss", "mask"], ["sm"]),
        h.make_node("Softmax", ["sm"], ["p"], axis=-1),
        h.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    # onnxruntime's Attention takes a mask with the query's length in full (no broadcast on that axis)
    mask = np.broadcast_to(np.where(np.arange(5) < 4, 0.0, -1e9).astype(np.float32), (1, 1, 5, 5))
    inputs = [("q", [2, 3, 5, 4]), ("k", k_shape), ("v", [2, 3, 5, 4])]
    return model(nodes, inputs, [2, 3, 5, 4], [("scale", 0.3), ("mask", mask)])


@pytest.mark.parametrize("key_format", ["BHSd", "BSHd"])
def test_scaled_dot_product_attention_is_fused(key_format):
    fused = check(_attention(key_format), {"Attention": 1}, opset=23)
    (att,) = [n for n in fused.graph.node if n.op_type == "Attention"]
    assert [a.f for a in att.attribute if a.name == "scale"] == [pytest.approx(0.3)]
    assert len(att.input) == 4  # the mask kept


def test_nothing_is_fused_for_a_target_without_the_op():
    m = _gelu_erf()
    fused, made = fuse_for(m, lambda op: op != "Gelu")
    assert made == {} and fused is m


@pytest.mark.parametrize("form", ["where_greater", "where_greater_equal", "relus"])
def test_prelu_decompositions_are_fused(form):
    slope = np.array([0.1, 0.2, 0.3], np.float32).reshape(3, 1, 1)
    if form == "relus":
        nodes = [
            h.make_node("Relu", ["x"], ["pos"]),
            h.make_node("Neg", ["x"], ["nx"]),
            h.make_node("Relu", ["nx"], ["rn"]),
            h.make_node("Mul", ["slope", "rn"], ["neg"]),
            h.make_node("Sub", ["pos", "neg"], ["y"]),
        ]
    else:
        compare = "Greater" if form == "where_greater" else "GreaterOrEqual"
        nodes = [
            h.make_node(compare, ["x", "zero"], ["c"]),
            h.make_node("Mul", ["x", "slope"], ["xs"]),
            h.make_node("Where", ["c", "x", "xs"], ["y"]),
        ]
    m = model(nodes, [("x", [2, 3, 4, 4])], [2, 3, 4, 4], [("slope", slope), ("zero", 0.0)])
    fused = check(m, {"PRelu": 1})
    assert [n.op_type for n in fused.graph.node] == ["PRelu"]


def test_a_where_against_another_threshold_is_no_prelu():
    nodes = [
        h.make_node("Greater", ["x", "one"], ["c"]),
        h.make_node("Mul", ["x", "slope"], ["xs"]),
        h.make_node("Where", ["c", "x", "xs"], ["y"]),
    ]
    m = model(nodes, [("x", [2, 3])], [2, 3], [("slope", 0.1), ("one", 1.0)])
    assert fuse_for(m, lambda op: True)[1] == {}


def test_a_slope_wider_than_x_is_no_prelu():
    nodes = [
        h.make_node("Greater", ["x", "zero"], ["c"]),
        h.make_node("Mul", ["x", "slope"], ["xs"]),
        h.make_node("Where", ["c", "x", "xs"], ["y"]),
    ]
    m = model(nodes, [("x", [1, 3])], [2, 3], [("slope", np.full((2, 3), 0.1)), ("zero", 0.0)])
    assert fuse_for(m, lambda op: True)[1] == {}


def test_rules_whose_ops_are_absent_are_not_tried(monkeypatch):
    """A graph without the ops a pattern starts from is returned as it is, no rule matched against
    it (matching every rule on every node of a ResNet took half a second); ops inside subgraphs
    count."""
    import broker.ir.fuse as fuse

    tried = []
    monkeypatch.setattr(fuse, "_gelu_rules", lambda: tried.append("gelu") or [])
    relu = model([h.make_node("Relu", ["x"], ["y"])], [("x", [2, 5])], [2, 5])
    fused, made = fuse_for(relu, lambda op: True)
    assert fused is relu and made == {} and tried == []
    body = h.make_graph([h.make_node("Erf", ["x"], ["e"])], "b", [], [h.make_tensor_value_info("e", T.FLOAT, [2, 5])])
    cond = h.make_node("If", ["c"], ["y"], then_branch=body, else_branch=body)
    assert "Erf" in fuse._op_types(h.make_graph([cond], "g", [], []))
    fuse_for(_gelu_erf(), lambda op: True)
    assert tried == ["gelu"]

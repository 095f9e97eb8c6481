"""Legalization rewrites are exact: each small graph runs through onnxruntime before and after."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from broker.ir.legalize import Capabilities, legalize

pytestmark = pytest.mark.unit

EVERYTHING = frozenset({"Conv", "AveragePool", "Mul", "Add", "Max", "Min", "Reshape", "Transpose", "Gemm", "MatMul",
                        "Pow", "Div", "Relu"})  # fmt: skip


def model(nodes, inputs, output_shape, inits=(), outputs=("y",)):
    g = h.make_graph(
        nodes,
        "t",
        [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in inputs],
        [h.make_tensor_value_info(o, T.FLOAT, output_shape) for o in outputs],
        [nh.from_array(np.asarray(v, np.float32), n) for n, v in inits],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    return onnx.shape_inference.infer_shapes(m, data_prop=True)


def run(m, feeds):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feeds)


def feeds_for(m, seed=0):
    rng = np.random.default_rng(seed)
    return {
        i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
        for i in m.graph.input
    }


def check(m, caps, expect_ops, rtol=1e-6, atol=1e-6):
    out, applied = legalize(m, caps)
    onnx.checker.check_model(out, full_check=True)
    got_ops = [n.op_type for n in out.graph.node]
    assert got_ops == expect_ops, got_ops
    x = feeds_for(m)
    for a, b in zip(run(out, x), run(m, x)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return out, applied


@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [3, 3], "pads": [0, 0, 1, 1]},  # asymmetric (GoogLeNet's pools)
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]},
        {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]},
        {"kernel_shape": [3, 2], "pads": [1, 0, 1, 1], "strides": [2, 2], "ceil_mode": 1},
    ],
)
def test_average_pool_excluding_padding(attrs):
    m = model([h.make_node("AveragePool", ["x"], ["y"], **attrs)], [("x", [1, 2, 7, 6])], None)
    _, applied = check(m, Capabilities(EVERYTHING, frozenset({"AveragePool.exclude_pad"})), ["AveragePool", "Mul"])
    assert applied.rewrites[0][2] == "avgpool_exclude_pad"


def test_symmetric_exclude_pad_stays_for_targets_that_only_lack_the_asymmetric_form():
    m = model([h.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [("x", [1, 2, 5, 5])],
              None)  # fmt: skip
    out, applied = legalize(m, Capabilities(EVERYTHING, frozenset({"AveragePool.exclude_pad_asymmetric"})))
    assert not applied.rewrites and [n.op_type for n in out.graph.node] == ["AveragePool"]


@pytest.mark.parametrize(
    "attrs,rewritten",
    [
        ({"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, False),  # stride 1: what 'same' pads
        ({"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}, False),
        ({"kernel_shape": [2, 2], "pads": [0, 0, 1, 1], "strides": [2, 2]}, False),  # 'same' pads the end (7 -> 4)
        ({"kernel_shape": [3, 3], "pads": [0, 0, 1, 1]}, True),
        ({"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, False),  # ceil_mode pads the end as 'same'
        ({"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER", "strides": [2, 2]}, True),
        ({"kernel_shape": [3, 3], "pads": [0, 0, 1, 1], "strides": [2, 2], "ceil_mode": 1}, True),
    ],
)
def test_exclude_pad_unlike_tensorflow_same(attrs, rewritten):
    m = model([h.make_node("AveragePool", ["x"], ["y"], **attrs)], [("x", [1, 2, 7, 7])], None)
    _check_pool_form(m, "AveragePool.exclude_pad_unlike_same", rewritten)


def _check_pool_form(m, form, rewritten):
    """The AveragePool of `m` rewritten (exactly) for a target lacking `form`, or left as it is."""
    caps = Capabilities(EVERYTHING, frozenset({form}))
    if rewritten:
        _, applied = check(m, caps, ["AveragePool", "Mul"])
        assert applied.rewrites[0][2] == "avgpool_" + form.split(".")[1]
    else:
        out, applied = legalize(m, caps)
        assert not applied.rewrites and [n.op_type for n in out.graph.node] == ["AveragePool"]


@pytest.mark.parametrize(
    "pads,rewritten",
    [([2, 2, 2, 2], True), ([0, 0, 1, 1], True), ([1, 1, 1, 1], False)],  # over half the kernel, asymmetric, held
)
def test_exclude_pad_wider_than_a_symmetric_padding_holds(pads, rewritten):
    m = model([h.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=pads)], [("x", [1, 2, 6, 6])], None)
    _check_pool_form(m, "AveragePool.exclude_pad_wide", rewritten)


@pytest.mark.parametrize(
    "op,expect", [("Sum", ["Add", "Add"]), ("Max", ["Max", "Max"]), ("Mean", ["Add", "Add", "Mul"])]
)
def test_variadic(op, expect):
    m = model([h.make_node(op, ["a", "b", "c"], ["y"])], [("a", [2, 3]), ("b", [2, 3]), ("c", [1, 3])], [2, 3])
    check(m, Capabilities(EVERYTHING, frozenset({f"{op}.variadic"})), expect)


def test_sum_for_a_target_without_sum():
    m = model([h.make_node("Sum", ["a", "b"], ["y"])], [("a", [2, 3]), ("b", [2, 3])], [2, 3])
    check(m, Capabilities(EVERYTHING), ["Add"])


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space(mode):
    m = model([h.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=mode)], [("x", [2, 8, 3, 4])], None)
    check(m, Capabilities(EVERYTHING), ["Reshape", "Transpose", "Reshape"], rtol=0, atol=0)


def test_space_to_depth():
    m = model([h.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)], [("x", [1, 3, 4, 6])], None)
    check(m, Capabilities(EVERYTHING), ["Reshape", "Transpose", "Reshape"], rtol=0, atol=0)


def test_op_the_target_has_is_left_alone():
    m = model([h.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)], [("x", [1, 8, 3, 4])], None)
    out, applied = legalize(m, Capabilities(EVERYTHING | {"DepthToSpace"}))
    assert not applied.rewrites and out.graph.node[0].op_type == "DepthToSpace"


def test_rewrite_is_not_used_when_the_target_lacks_what_it_produces():
    m = model([h.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)], [("x", [1, 8, 3, 4])], None)
    out, applied = legalize(m, Capabilities(frozenset({"Reshape", "Relu"})))
    assert not applied.rewrites and out.graph.node[0].op_type == "DepthToSpace"


def test_gemm_general_with_constant_weight():
    w = np.random.default_rng(1).standard_normal((4, 3))
    c = np.random.default_rng(2).standard_normal((3,))
    m = model([h.make_node("Gemm", ["a", "w", "c"], ["y"], transA=1, alpha=0.5, beta=2.0)], [("a", [4, 2])], [2, 3],
              inits=[("w", w), ("c", c)])  # fmt: skip
    check(m, Capabilities(EVERYTHING, frozenset({"Gemm.general"})), ["Transpose", "Gemm"], rtol=1e-5)


def test_gemm_general_with_computed_weight():
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)],
              [("a", [2, 4]), ("b", [3, 4]), ("c", [3])], [2, 3])  # fmt: skip
    check(m, Capabilities(EVERYTHING, frozenset({"Gemm.general"})), ["Transpose", "MatMul", "Mul", "Mul", "Add"],
          rtol=1e-5)  # fmt: skip


def lrn_by_definition(x, size, alpha, beta, bias):
    """ONNX's LRN formula, written out (onnxruntime takes odd sizes only, and onnx's reference
    implementation sums over the wrong axis: it loops over the batch instead of the channels)."""
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    c = x.shape[1]
    sq = np.zeros_like(x)
    for i in range(c):
        sq[:, i] = np.sum(x[:, max(0, i - lo) : min(c, i + hi + 1)] ** 2, axis=1)
    return x / (bias + alpha / size * sq) ** beta


@pytest.mark.parametrize("size", [3, 4, 5])
def test_lrn(size):
    m = model([h.make_node("LRN", ["x"], ["y"], size=size, alpha=1e-2, beta=0.75, bias=2.0)], [("x", [2, 6, 3, 3])],
              None)  # fmt: skip
    out, _ = legalize(m, Capabilities(EVERYTHING))
    assert [n.op_type for n in out.graph.node] == ["Mul", "Conv", "Mul", "Add", "Pow", "Div"]
    x = feeds_for(m)
    want = lrn_by_definition(x["x"].astype(np.float64), size, 1e-2, 0.75, 2.0)
    np.testing.assert_allclose(run(out, x)[0], want, rtol=1e-5, atol=1e-6)
    if size % 2:
        np.testing.assert_allclose(run(m, x)[0], want, rtol=1e-5, atol=1e-6)


def test_scatter_nd_with_constant_updates():
    idx = nh.from_array(np.array([[0, 3], [1, 5]], np.int64), "idx")
    m = model([h.make_node("ScatterND", ["x", "idx", "upd"], ["y"])], [("x", [2, 8])], [2, 8],
              inits=[("upd", [7.0, -2.0])])  # fmt: skip
    m.graph.initializer.append(idx)
    check(m, Capabilities(EVERYTHING), ["Mul", "Add"], rtol=0, atol=0)


def test_tf2onnx_upsampling_chain_becomes_resize():
    """tf2onnx writes Keras' UpSampling2D on an NHWC tensor as Unsqueeze -> Tile -> Reshape per axis."""
    i64 = lambda v: nh.from_array(np.array(v, np.int64))  # noqa: E731
    inits = [("ax", [2]), ("reps", [1, 1, 2, 1, 1]), ("s1", [1, 6, 4, 3]), ("ax2", [3]), ("reps2", [1, 1, 1, 2, 1]),
             ("s2", [1, 6, 8, 3])]  # fmt: skip
    nodes = [
        h.make_node("Transpose", ["x"], ["nhwc"], perm=[0, 2, 3, 1]),
        h.make_node("Unsqueeze", ["nhwc", "ax"], ["u1"]),
        h.make_node("Tile", ["u1", "reps"], ["t1"]),
        h.make_node("Reshape", ["t1", "s1"], ["r1"]),
        h.make_node("Unsqueeze", ["r1", "ax2"], ["u2"]),
        h.make_node("Tile", ["u2", "reps2"], ["t2"]),
        h.make_node("Reshape", ["t2", "s2"], ["r2"]),
        h.make_node("Transpose", ["r2"], ["y"], perm=[0, 3, 1, 2]),
    ]
    m = model(nodes, [("x", [1, 3, 3, 4])], [1, 3, 6, 8])
    for name, value in inits:
        t = i64(value)
        t.name = name
        m.graph.initializer.append(t)
    m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    out, applied = check(m, Capabilities(EVERYTHING | {"Resize"}), ["Resize"], rtol=0, atol=0)
    assert [r[2] for r in applied.rewrites] == ["upsample_chain_as_resize"]


def test_tile_as_concat():
    reps = nh.from_array(np.array([1, 3, 2], np.int64), "reps")
    m = model([h.make_node("Tile", ["x", "reps"], ["y"])], [("x", [2, 3, 4])], [2, 9, 8])
    m.graph.initializer.append(reps)
    check(m, Capabilities(EVERYTHING | {"Concat"}), ["Concat", "Concat"], rtol=0, atol=0)


@pytest.mark.parametrize("op,attrs", [("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("HardSwish", {})])
@pytest.mark.parametrize("has_clip", [True, False])
def test_hard_activations(op, attrs, has_clip):
    m = model([h.make_node(op, ["x"], ["y"], **attrs)], [("x", [2, 3, 4, 5])], [2, 3, 4, 5])
    ops = {"Mul", "Add", "Relu", "Sub"} | ({"Clip"} if has_clip else set())
    out, _ = legalize(m, Capabilities(frozenset(ops)))
    assert {n.op_type for n in out.graph.node} <= ops
    x = {"x": (feeds_for(m)["x"] * 4).astype(np.float32)}
    np.testing.assert_allclose(run(out, x)[0], run(m, x)[0], rtol=1e-6, atol=1e-6)


def test_mish():
    m = model([h.make_node("Mish", ["x"], ["y"])], [("x", [2, 3, 4, 5])], [2, 3, 4, 5])
    ops = frozenset({"Softplus", "Tanh", "Mul"})
    out, applied = legalize(m, Capabilities(ops))
    assert [n.op_type for n in out.graph.node] == ["Softplus", "Tanh", "Mul"]
    assert [r[2] for r in applied.rewrites] == ["mish_as_softplus_tanh"]
    x = {"x": (feeds_for(m)["x"] * 6).astype(np.float32)}
    np.testing.assert_allclose(run(out, x)[0], run(m, x)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("factors,by_sizes", [((2, 2), False), ((3, 2), False), ((2, 4), True)])
def test_nearest_upsample_as_concat(factors, by_sizes):
    shape = [2, 3, 4, 5]
    out = shape[:2] + [shape[2] * factors[0], shape[3] * factors[1]]
    if by_sizes:
        const = nh.from_array(np.array(out, np.int64), "sizes")
        inputs = ["x", "", "", "sizes"]
    else:
        const = nh.from_array(np.array([1, 1, *factors], np.float32), "scales")
        inputs = ["x", "", "scales"]
    node = h.make_node("Resize", inputs, ["y"], mode="nearest", coordinate_transformation_mode="asymmetric",
                       nearest_mode="floor")  # fmt: skip
    m = model([node], [("x", shape)], out)
    m.graph.initializer.append(const)
    expect = ["Reshape", "Concat", "Reshape", "Concat", "Reshape"]
    _, applied = check(m, Capabilities(EVERYTHING | {"Concat"}), expect, rtol=0, atol=0)
    assert [r[2] for r in applied.rewrites] == ["resize_nearest_as_concat"]


def test_resize_that_interpolates_stays():
    node = h.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")
    m = model([node], [("x", [1, 2, 3, 3])], [1, 2, 6, 6])
    m.graph.initializer.append(nh.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    out, applied = legalize(m, Capabilities(EVERYTHING | {"Concat"}))
    assert not applied.rewrites and [n.op_type for n in out.graph.node] == ["Resize"]


def test_erf_for_a_target_without_it():
    """GELU's exact form for CNTK and Caffe: within 4e-7 of erf in float32, 0 at 0, odd, saturating at +-1."""
    m = model([h.make_node("Erf", ["x"], ["y"])], [("x", [4, 64])], [4, 64])
    caps = Capabilities(frozenset({"Abs", "Mul", "Add", "Reciprocal", "Neg", "Exp", "Sub", "Sign"}))
    out, applied = legalize(m, caps)
    assert "Erf" not in [n.op_type for n in out.graph.node] and [r[2] for r in applied.rewrites] == ["erf_rational"]
    x = np.concatenate([np.linspace(-6, 6, 255), [0.0]]).astype(np.float32).reshape(4, 64)
    (got,) = run(out, {"x": x})
    (want,) = run(m, {"x": x})
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-7)  # 1.5e-7 and float32 rounding
    flat = got.reshape(-1)
    assert flat[-1] == 0.0 and np.array_equal(flat[:255], -flat[:255][::-1])  # erf(0) = 0, odd
    assert abs(flat[0] + 1.0) < 1e-7

"""Free input dimensions kept free in a graph a parser made at fixed sizes: the reshape constants
that hold the parse-time batch or sequence length become ONNX's "copy this dimension" 0; the
graph is run through onnxruntime at the parse-time size (same numbers as before) and at another
size (which the fixed graph refuses)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from broker.ir.canonical import canonicalize
from broker.ir.free_dims import free_input_dims, parse_sizes

pytestmark = pytest.mark.unit


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feeds)


def parsed_at_batch_1() -> onnx.ModelProto:
    """What a parser returns for a CNN head traced at batch 1: Conv -> Reshape(x, [-1, 128]) -> Gemm,
    and a token model's Reshape(ids_emb, [1, 4, 2, 4]) at sequence length 4."""
    rng = np.random.default_rng(0)
    inits = [
        nh.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "W"),
        nh.from_array(np.array([-1, 128], np.int64), "flat"),  # a -1 that stands for the batch
        nh.from_array(rng.standard_normal((128, 5)).astype(np.float32), "fc"),
        nh.from_array(rng.standard_normal((10, 8)).astype(np.float32), "emb"),
        nh.from_array(np.array([1, 4, 2, 4], np.int64), "heads"),
    ]
    nodes = [
        h.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        h.make_node("Reshape", ["c", "flat"], ["f"], name="flatten"),
        h.make_node("MatMul", ["f", "fc"], ["y"], name="fc"),
        h.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        h.make_node("Reshape", ["e", "heads"], ["z"], name="split_heads"),
    ]
    graph = h.make_graph(
        nodes,
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 4]), h.make_tensor_value_info("ids", T.INT64, [1, 4])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 5]), h.make_tensor_value_info("z", T.FLOAT, [1, 4, 2, 4])],
        inits,
    )
    model, _ = canonicalize(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]))
    return model


def feeds(batch: int, length: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    return {
        "x": rng.standard_normal((batch, 3, 4, 4)).astype(np.float32),
        "ids": rng.integers(0, 10, (batch, length)).astype(np.int64),
    }


def dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def test_batch_and_sequence_length_freed():
    fixed = parsed_at_batch_1()
    free, why = free_input_dims(fixed, {"x": {0: "N"}, "ids": {0: "N", 1: "seq"}})
    assert why == ""
    assert parse_sizes(free) == {"x": [1, 3, 4, 4], "ids": [1, 4]}, "what a target that must fix them is given"
    assert parse_sizes(fixed) == {}
    assert [dims(i) for i in free.graph.input] == [["N", 3, 4, 4], ["N", "seq"]]
    assert [dims(o) for o in free.graph.output] == [["N", 5], ["N", "seq", 2, 4]]
    for a, b in zip(run(fixed, feeds(1, 4)), run(free, feeds(1, 4))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(Exception, match="(?i)shape|dimension"):  # the graph as parsed takes batch 1 only
        run(fixed, feeds(3, 4))
    y, z = run(free, feeds(3, 6))
    assert y.shape == (3, 5) and z.shape == (3, 6, 2, 4)
    ref = run(fixed, {k: v[1:2, :4] for k, v in feeds(3, 4).items()})
    got = run(free, feeds(3, 4))
    for a, b in zip(ref, got):  # each sample computes what the fixed graph computes for it
        np.testing.assert_allclose(a, b[1:2], rtol=1e-6, atol=1e-6)
    assert {i.name for i in free.graph.initializer} >= {"flat_free", "heads_free"}
    assert not {"flat", "heads"} & {i.name for i in free.graph.initializer}, "replaced constants are gone"


def test_a_graph_that_hard_codes_the_size_is_left_fixed():
    """An Expand to a literal batch: no output follows the free batch, the graph is kept as parsed."""
    graph = h.make_graph(
        [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0, name="sum"),
         h.make_node("Expand", ["s", "shape"], ["y"], name="expand")],
        "g",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 3])],
        [nh.from_array(np.array([1, 3], np.int64), "shape")],
    )  # fmt: skip
    model, _ = canonicalize(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]))
    out, why = free_input_dims(model, {"x": {0: "N"}})
    assert out is model and "no output follows the free dimension N" in why


def test_nothing_to_free():
    model = parsed_at_batch_1()
    assert free_input_dims(model, {}) == (model, "")
    assert free_input_dims(model, {"other": {0: "N"}}) == (model, "")

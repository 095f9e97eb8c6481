"""The canonical IR: constants folded, inference-only parts gone, nothing else changed; every graph
is run through onnxruntime before and after to prove the rewrite exact."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from broker.ir.canonical import canonical_report, canonicalize, is_canonical
from broker.ir.summary import render, summarize

pytestmark = pytest.mark.unit


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """onnxruntime without its own graph optimizations (which would pick other kernels for a
    weight that is an input than for one that is a constant)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feeds)


def ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def exporter_graph(opset: int = 13) -> onnx.ModelProto:
    """What exporters leave: a weight listed as an input, Dropout with its mask, Identity, a
    Shape -> Gather -> Concat shape subgraph and Constant nodes feeding a Reshape."""
    rng = np.random.default_rng(0)
    w = nh.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "W")
    nodes = [
        h.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        h.make_node("Dropout", ["c"], ["d", "mask"], name="drop"),
        h.make_node("Identity", ["d"], ["d2"], name="ident"),
        h.make_node("Relu", ["d2"], ["r"], name="relu"),
        h.make_node("Shape", ["r"], ["shp"], name="shape"),
        h.make_node("Constant", [], ["zero"], value=nh.from_array(np.array([0], np.int64)), name="c0"),
        h.make_node("Gather", ["shp", "zero"], ["n"], axis=0, name="gather"),
        h.make_node("Constant", [], ["minus1"], value=nh.from_array(np.array([-1], np.int64)), name="c1"),
        h.make_node("Concat", ["n", "minus1"], ["newshape"], axis=0, name="concat"),
        h.make_node("Reshape", ["r", "newshape"], ["y"], name="flatten"),
    ]
    g = h.make_graph(
        nodes,
        "exporter",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8]), h.make_tensor_value_info("W", T.FLOAT, [8, 3, 3, 3])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 512])],
        [w],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def test_exporter_leftovers_are_folded_and_the_outputs_are_unchanged():
    m = exporter_graph()
    x = {"x": np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)}
    out, report = canonicalize(m)
    assert ops(out) == ["Conv", "Relu", "Reshape"]
    assert [i.name for i in out.graph.input] == ["x"]
    assert [o.name for o in out.graph.output] == ["y"]
    assert out.opset_import[0].version == 18
    np.testing.assert_array_equal(run(out, x)[0], run(m, x)[0])
    assert report.opset_from == 13 and report.initializer_inputs_removed == 1
    assert report.ops_removed["Dropout"] == 1 and report.ops_removed["Identity"] == 1
    assert report.ops_removed["Constant"] == 2 and report.ops_removed["Shape"] == 1
    assert is_canonical(out) and not is_canonical(m)
    assert canonical_report(out) == report


def test_canonicalize_is_idempotent_and_leaves_its_input_alone():
    m = exporter_graph()
    before = m.SerializeToString()
    once, _ = canonicalize(m)
    assert m.SerializeToString() == before
    twice, report = canonicalize(once)
    assert ops(twice) == ops(once)
    assert not report.ops_removed and not report.ops_added


def test_architecture_is_kept_for_retraining():
    """No BatchNorm folded into the Conv, no zero bias dropped, equal weights stay two tensors."""
    zeros = np.zeros(4, np.float32)
    w = np.ones((4, 4, 1, 1), np.float32)
    inits = [nh.from_array(w, "w1"), nh.from_array(w.copy(), "w2"), nh.from_array(zeros, "bias")]
    inits += [nh.from_array(v, n) for n, v in [("s", zeros + 1), ("b", zeros), ("m", zeros), ("v", zeros + 1)]]
    nodes = [
        h.make_node("Conv", ["x", "w1"], ["a"]),
        h.make_node("BatchNormalization", ["a", "s", "b", "m", "v"], ["bn"]),
        h.make_node("Conv", ["bn", "w2"], ["c"]),
        h.make_node("Add", ["c", "bias"], ["y"]),
    ]
    g = h.make_graph(
        nodes,
        "keep",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 2, 2])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 4, 2, 2])],
        inits,
    )
    out, _ = canonicalize(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]))
    assert ops(out) == ["Conv", "BatchNormalization", "Conv", "Add"]
    assert {"w1", "w2", "bias"} <= {i.name for i in out.graph.initializer}


def test_unread_optional_outputs_are_dropped():
    nodes = [
        h.make_node("MaxPool", ["x"], ["p", "idx"], kernel_shape=[2, 2]),
        h.make_node("Dropout", ["p"], ["y", "mask"]),
    ]
    g = h.make_graph(
        nodes,
        "opt",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 4, 4])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 2, 2])],
    )
    out, _ = canonicalize(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]))
    assert ops(out) == ["MaxPool"]
    assert list(out.graph.node[0].output) == ["y"]


def test_dropout_mask_that_is_read_becomes_a_constant():
    nodes = [
        h.make_node("Dropout", ["x"], ["d", "mask"]),
        h.make_node("Cast", ["mask"], ["m"], to=T.FLOAT),
        h.make_node("Mul", ["d", "m"], ["y"]),
    ]
    g = h.make_graph(
        nodes,
        "mask",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 3])],
        [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 3])],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    out, _ = canonicalize(m)
    assert "Dropout" not in ops(out) and "Cast" not in ops(out)
    x = {"x": np.arange(6, dtype=np.float32).reshape(1, 2, 3)}
    np.testing.assert_array_equal(run(out, x)[0], run(m, x)[0])


def test_ir_info_shows_what_canonicalization_changed():
    out, _ = canonicalize(exporter_graph())
    text = render(summarize(out))
    assert "canonicalized: opset 13 -> 18" in text
    assert "Dropout x1" in text and "mmbroker.canonical" not in text


def test_free_dimensions_fixed_for_a_target_fold_the_shape_arithmetic():
    from broker.ir.canonical import free_inputs, specialize

    nodes = [  # y = x * batch size
        h.make_node("Shape", ["x"], ["s"]),
        h.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        h.make_node("Cast", ["n"], ["nf"], to=T.FLOAT),
        h.make_node("Mul", ["x", "nf"], ["y"]),
    ]
    g = h.make_graph(
        nodes,
        "dyn",
        [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, 4])],
        [h.make_tensor_value_info("y", T.FLOAT, ["batch", 3, 4])],
        [nh.from_array(np.array(0, np.int64), "zero")],
    )
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    free, _ = canonicalize(m)
    assert free_inputs(free) == {"x": [None, 3, 4]} and "Shape" in ops(free)
    fixed = specialize(free, {"x": [2, 3, 4]})
    assert ops(fixed) == ["Mul"] and not free_inputs(fixed)
    x = {"x": np.arange(24, dtype=np.float32).reshape(2, 3, 4)}
    np.testing.assert_array_equal(run(fixed, x)[0], run(m, x)[0])


def test_gather_elements_of_constants_is_folded_beyond_64_choices():
    """BERT's token-type ids: a [1, 80] buffer gathered by positions. onnx's reference evaluator
    fails on more than 64 choices; the fold must still happen and be exact."""
    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 5, (1, 80)).astype(np.int64)
    positions = np.array([[3, 79, 0, -1, 7]], np.int64)
    nodes = [h.make_node("GatherElements", ["buffer", "positions"], ["ids"], axis=1),
             h.make_node("Cast", ["ids"], ["idsf"], to=T.FLOAT),
             h.make_node("Add", ["x", "idsf"], ["y"])]  # fmt: skip
    g = h.make_graph(nodes, "ge", [h.make_tensor_value_info("x", T.FLOAT, [1, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 5])],
                     [nh.from_array(buffer, "buffer"), nh.from_array(positions, "positions")])  # fmt: skip
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    out, _ = canonicalize(m)
    assert ops(out) == ["Add"]
    x = {"x": rng.standard_normal((1, 5)).astype(np.float32)}
    np.testing.assert_array_equal(run(out, x)[0], run(m, x)[0])


def _cnn(names=("conv", "relu", "flatten"), extra=()):
    w = nh.from_array(np.random.RandomState(0).rand(4, 3, 3, 3).astype(np.float32), "w")
    shape = nh.from_array(np.array([1, -1], dtype=np.int64), "shape")
    nodes = [
        h.make_node("Conv", ["x", "w"], ["c"], name=names[0]),
        h.make_node("Relu", ["c"], ["r"], name=names[1]),
        h.make_node("Reshape", ["r", "shape"], ["y"], name=names[2]),
        *extra,
    ]
    g = h.make_graph(nodes, "cnn", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 144])], [w, shape])  # fmt: skip
    return h.make_model(g, opset_imports=[h.make_opsetid("", 18)])


def test_a_graph_with_nothing_to_simplify_skips_the_optimizer_and_ends_the_same():
    """A parser's graph that the optimizer would return as it is but for node names (no constant
    to fold, nothing dead) is only named, as the optimizer names it; anything else goes through
    the optimizer."""
    from broker.ir import canonical

    def nodes(m):
        return [(n.op_type, list(n.input), list(n.output), n.name) for n in m.graph.node]

    simple = _cnn()
    # unnamed nodes (mxnet.onnx leaves Conv and MaxPool so), a made-up name taken, a name twice
    for names in (("conv", "relu", "flatten"), ("", "", ""), ("", "node_1", ""), ("a", "a", "")):
        model = _cnn(names)
        assert canonical._nothing_to_simplify(model)
        optimized = canonical._optimize(model)
        assert nodes(canonical._name_nodes(model)) == nodes(optimized), names
        assert sorted(i.name for i in optimized.graph.initializer) == ["shape", "w"]
    dead = h.make_node("Sigmoid", ["c"], ["unused"], name="dead")
    const = h.make_node("Constant", [], ["k"], name="k", value=nh.from_array(np.ones(1, np.float32)))
    two_reshapes = h.make_node("Reshape", ["y", "shape"], ["y2"], name="again")
    for other in (_cnn(extra=[dead]), _cnn(extra=[const]), _cnn(extra=[two_reshapes])):
        assert not canonical._nothing_to_simplify(other)
    like = h.make_node("CastLike", ["y", "y"], ["y3"], name="like")  # the folder makes it a Cast
    size = h.make_node("Size", ["y"], ["n"], name="size")  # of a static shape: a constant
    one = h.make_node("Concat", ["y"], ["y4"], name="one", axis=0)  # an Identity
    for other in (_cnn(extra=[like]), _cnn(extra=[size]), _cnn(extra=[one])):
        assert not canonical._nothing_to_simplify(other)
    listed = _cnn()
    listed.graph.input.append(h.make_tensor_value_info("w", T.FLOAT, [4, 3, 3, 3]))
    assert not canonical._nothing_to_simplify(listed)
    out, report = canonicalize(simple)
    assert is_canonical(out) and report.nodes_before == report.nodes_after == 3
    assert {v.name for v in out.graph.value_info} >= {"c", "r"}, "shapes inferred all the same"


def test_listed_initializers_and_inference_dropouts_are_taken_out_before_the_fast_path():
    """The ONNX model zoo's older CNNs (VGG, AlexNet) list their initializers as graph inputs and
    keep inference Dropouts (Caffe2's, once at the IR opset, with a Constant ratio and a mask that
    nothing reads), and nothing else for the optimizer: without those two they take the fast path
    and end as the optimizer leaves them. A Dropout whose mask is read, or whose output the graph
    returns, is left to the optimizer."""
    from broker.ir import canonical

    def nodes(m):
        return [(n.op_type, list(n.input), list(n.output), n.name) for n in m.graph.node]

    def zoo_like(names, caffe2=False, mask_read=False, returned=False):
        m = _cnn(names)
        g = m.graph
        g.input.append(h.make_tensor_value_info("w", T.FLOAT, [4, 3, 3, 3]))
        g.input.append(h.make_tensor_value_info("shape", T.INT64, [2]))
        relu = g.node[1]
        relu.output[0] = "r0"
        ratio = h.make_node("Constant", [], ["ratio"], value=nh.from_array(np.array(0.5, np.float32)))
        ins, outs = (["r0", "ratio"], ["r", "mask"]) if caffe2 or mask_read else (["r0"], ["r"])
        g.node.insert(2, h.make_node("Dropout", ins, outs, name=names[1] and "drop"))
        if caffe2 or mask_read:
            g.node.insert(2, ratio)
        g.value_info.append(h.make_tensor_value_info("r", T.FLOAT, [1, 4, 6, 6]))
        if returned:
            g.output.append(h.make_tensor_value_info("r", T.FLOAT, [1, 4, 6, 6]))
        if mask_read:
            g.output.append(h.make_tensor_value_info("mask", T.BOOL, [1, 4, 6, 6]))
        return m

    for names in (("conv", "relu", "flatten"), ("", "", "")):
        for caffe2 in (False, True):
            optimized = canonical._optimize(zoo_like(names, caffe2))
            prepared = canonical._take_out_the_obvious(zoo_like(names, caffe2))
            # a Constant ratio among unnamed nodes is left to the optimizer, which names them
            assert canonical._nothing_to_simplify(prepared) == (all(names) or not caffe2), names
            if canonical._nothing_to_simplify(prepared):
                assert nodes(canonical._name_nodes(prepared)) == nodes(optimized), names
            assert [i.name for i in prepared.graph.input] == [i.name for i in optimized.graph.input] == ["x"]
            out, report = canonicalize(zoo_like(names, caffe2))
            assert ops(out) == ["Conv", "Relu", "Reshape"] and report.initializer_inputs_removed == 2
            x = {"x": np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)}
            np.testing.assert_array_equal(run(out, x)[0], run(_cnn(names), x)[0])
    for other in (zoo_like(("a", "b", "c"), mask_read=True), zoo_like(("a", "b", "c"), returned=True)):
        prepared = canonical._take_out_the_obvious(other)
        assert "Dropout" in ops(prepared) and not canonical._nothing_to_simplify(prepared)
        out, _ = canonicalize(other)
        assert "Dropout" not in ops(out)


def test_a_concat_with_an_empty_operand_goes_through_the_optimizer():
    """The folder drops an operand of size 0 on the Concat's axis: only shapes show it, so the
    fast path looks at the inferred graph before it takes it."""
    from broker.ir import canonical

    empty = nh.from_array(np.zeros((1, 0), np.float32), "empty")
    nodes = [h.make_node("Relu", ["x"], ["r"], name="relu"),
             h.make_node("Concat", ["r", "empty"], ["y"], name="cat", axis=1)]  # fmt: skip
    g = h.make_graph(nodes, "cat", [h.make_tensor_value_info("x", T.FLOAT, [1, 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 4])], [empty])  # fmt: skip
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    assert canonical._nothing_to_simplify(m)
    out, _ = canonicalize(m)
    assert "Concat" not in ops(out)
    x = {"x": np.random.default_rng(0).standard_normal((1, 4)).astype(np.float32)}
    np.testing.assert_array_equal(run(out, x)[0], run(m, x)[0])

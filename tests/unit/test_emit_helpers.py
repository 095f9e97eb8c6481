"""Shared emitter helpers in runners/common: constants folded and ordered nodes, converters
called with decoded attributes and errors naming the node, registries that load their package."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import onnx_model
from onnx import helper

from runners.common.emit_graph import convert_nodes, ordered_nodes
from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.ir import split
from runners.common.registry import Registry


class Ctx:
    def __init__(self):
        self.consts: dict[str, np.ndarray] = {}
        self.node = None
        self.calls: list[tuple[str, dict]] = []

    def shape(self, value):
        return None

    def const(self, value):
        return self.consts.get(value)


def model_and_weights():
    nodes = [
        helper.make_node("Add", ["a", "b"], ["c"], name="fold_me"),
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("LeakyRelu", ["r"], ["y"], name="leaky", alpha=0.2),
        helper.make_node("Mul", ["y", "c"], ["z"], name="scale"),
    ]
    model = onnx_model(nodes, [("x", [1, 2])], ["z"], [("a", [1.0, 2.0]), ("b", [3.0, 4.0])])
    return split(model)


def test_constants_fold_and_converters_get_attributes():
    graph, weights = model_and_weights()
    reg = Registry("x", "emit")
    ctx = Ctx()

    @reg.register("Relu", "LeakyRelu", "Mul")
    def record(node, ctx, **attrs):
        ctx.calls.append((node.name, attrs))

    inputs, nodes = ordered_nodes(graph, weights, ctx)
    assert [i.name for i in inputs] == ["x"]
    convert_nodes(reg, nodes, ctx, 18, fold_constants=True)
    assert np.allclose(ctx.consts["c"], [4.0, 6.0])
    assert ctx.calls == [("relu", {}), ("leaky", {"alpha": pytest.approx(0.2)}), ("scale", {})]
    assert ctx.node is None


def test_every_missing_op_is_named_and_errors_name_the_node():
    graph, weights = model_and_weights()
    with pytest.raises(UnsupportedOps) as info:
        ctx = Ctx()
        convert_nodes(Registry("x", "emit"), ordered_nodes(graph, weights, ctx)[1], ctx, 18, fold_constants=True)
    assert info.value.nodes == ["relu (Relu)", "leaky (LeakyRelu)", "scale (Mul)"]

    reg = Registry("x", "emit")

    @reg.register("Relu", "LeakyRelu", "Mul")
    def refuse(node, ctx, **attrs):
        raise RunnerError("unsupported-attribute", "no")

    ctx = Ctx()
    with pytest.raises(RunnerError) as err:
        convert_nodes(reg, ordered_nodes(graph, weights, ctx)[1], ctx, 18, fold_constants=True)
    assert (err.value.node, err.value.op, err.value.opset) == ("relu", "Relu", 18)


def test_missing_weights_are_named():
    graph, weights = model_and_weights()
    del weights["b"]
    with pytest.raises(RunnerError, match="no tensor 'b'"):
        ordered_nodes(graph, weights, Ctx())


def test_registry_loads_its_package_once():
    reg = Registry("x", "parse", package="runners.common")
    assert reg.loaded() is reg and reg.loaded() is reg


class ShapeCtx:
    def __init__(self, shapes):
        self.shapes = shapes

    def shape(self, name):
        return self.shapes.get(name)

    def fail(self, message):
        return RunnerError("unsupported-attribute", message)


def test_explicit_pads_resolve_auto_pad_as_onnxruntime_does():
    """SAME padding checked against onnxruntime's output sizes; stride-1 SAME needs no shape."""
    import onnxruntime as ort

    from runners.common.codegen import explicit_pads, lit

    ctx = ShapeCtx({"x": [1, 1, 7, 6]})
    for auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = explicit_pads(ctx, "x", [3, 2], [2, 2], [1, 1], None, auto_pad.encode())
        node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], auto_pad=auto_pad)
        model = onnx_model([node], [("x", [1, 1, 7, 6])], ["y"], opset=18)
        x = np.arange(42, dtype=np.float32).reshape(1, 1, 7, 6)
        want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
        explicit = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=pads)
        got = ort.InferenceSession(onnx_model([explicit], [("x", [1, 1, 7, 6])], ["y"]).SerializeToString())
        assert np.array_equal(got.run(None, {"x": x})[0], want), (auto_pad, pads)
    assert explicit_pads(ShapeCtx({}), "x", [3, 3], None, None, None, "SAME_UPPER") == [1, 1, 1, 1]
    assert explicit_pads(ctx, "x", [3, 3], None, None, [0, 1, 2, 3], "NOTSET") == [0, 1, 2, 3]
    assert explicit_pads(ctx, "x", [3, 3], None, None, [0, 1, 2, 3], "VALID") == [0, 0, 0, 0]
    with pytest.raises(RunnerError, match="needs the spatial size of 'x'"):
        explicit_pads(ShapeCtx({}), "x", [3, 3], [2, 2], None, None, "SAME_LOWER")
    with pytest.raises(RunnerError, match="not an ONNX value"):
        explicit_pads(ctx, "x", [3, 3], None, None, None, "SAME")
    assert lit(np.float32(0.1)) == "0.1" and lit(np.array([1.5, 2], np.float32)) == "[1.5, 2.0]"
    assert lit((1,)) == "(1,)" and lit(float("nan")) == "float('nan')" and lit(b"a") == "'a'"

"""The shared emit skeleton in runners/common: converters called with decoded attributes, every
missing op and unhandled attribute refused at once, refusals naming the node, a converter's bug an
internal bug, registries that load their package, explicit pads."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import onnx_model
from onnx import helper

from runners.common.emit import EmitContext, emit_nodes
from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.ir import split
from runners.common.registry import Registry


def model_and_weights():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("LeakyRelu", ["r"], ["y"], name="leaky", alpha=0.2),
        helper.make_node("Mul", ["y", "c"], ["z"], name="scale"),
    ]
    model = onnx_model(nodes, [("x", [1, 2])], ["z"], [("c", [4.0, 6.0])])
    return split(model)


class Ctx(EmitContext):
    framework = "test"

    def __init__(self, graph, weights):
        EmitContext.__init__(self, graph, weights)
        self.calls: list[tuple[str, dict]] = []


def test_converters_get_attributes_and_constants():
    graph, weights = model_and_weights()
    reg = Registry("test", "emit")
    ctx = Ctx(graph, weights)

    @reg.register("Relu", "LeakyRelu", "Mul")
    def record(node, ctx, alpha=0.01):
        ctx.calls.append((node.name, {"alpha": alpha} if node.op_type == "LeakyRelu" else {}))

    assert [i.name for i in ctx.inputs] == ["x"] and np.allclose(ctx.const("c"), [4.0, 6.0])
    emit_nodes(reg, ctx)
    assert ctx.calls == [("relu", {}), ("leaky", {"alpha": pytest.approx(0.2)}), ("scale", {})]
    assert ctx.node is None


def test_every_missing_op_is_named_at_once():
    graph, weights = model_and_weights()
    with pytest.raises(UnsupportedOps) as info:
        emit_nodes(Registry("test", "emit"), Ctx(graph, weights))
    assert info.value.nodes == ["relu (Relu)", "leaky (LeakyRelu)", "scale (Mul)"]


def test_an_attribute_no_converter_takes_is_refused_not_ignored():
    graph, weights = model_and_weights()
    reg = Registry("test", "emit")
    reg.register("Relu", "Mul")(lambda node, ctx: None)
    reg.register("LeakyRelu")(lambda node, ctx: None)  # takes no alpha
    with pytest.raises(RunnerError) as err:
        emit_nodes(reg, Ctx(graph, weights))
    assert err.value.reference == "unsupported-attribute" and err.value.node == "leaky"
    assert "alpha" in err.value.message


def test_refusals_are_collected_and_a_converter_bug_is_an_internal_bug():
    graph, weights = model_and_weights()
    reg = Registry("test", "emit")

    @reg.register("Relu", "LeakyRelu", "Mul")
    def refuse(node, ctx, alpha=0.01):
        raise ctx.fail("no %s here" % node.op_type)

    with pytest.raises(RunnerError) as err:
        emit_nodes(reg, Ctx(graph, weights))
    # the nodes reading a refused value are passed over: one refusal, for the first node
    assert (err.value.node, err.value.op, err.value.opset) == ("relu", "Relu", 18)

    reg = Registry("test", "emit")

    @reg.register("Relu", "LeakyRelu", "Mul")
    def broken(node, ctx, alpha=0.01):
        return {}["missing"]

    with pytest.raises(RunnerError) as err:
        emit_nodes(reg, Ctx(graph, weights))
    assert err.value.reference == "internal-bug" and err.value.node == "relu" and "KeyError" in err.value.message


def test_missing_weights_are_named():
    graph, weights = model_and_weights()
    del weights["c"]
    with pytest.raises(RunnerError, match="no tensor 'c'"):
        Ctx(graph, weights)


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

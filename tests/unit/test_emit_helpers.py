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

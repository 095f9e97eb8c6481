"""Layer names of generated code come from the source model (runners/common/naming.py): the module
path torch.onnx records, the node's own name, the weight's name, never a neighbour's."""

from __future__ import annotations

import onnx
import pytest
from onnx import helper as h

from runners.common.emit_graph import IRNode
from runners.common.naming import SourceNames, made_up, weight_stem

pytestmark = pytest.mark.unit


def node(op, inputs, name="", scopes=None):
    n = h.make_node(op, inputs, [name + "_out" if name else op.lower() + "_out"], name=name)
    if scopes is not None:
        n.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=repr(scopes))
    return IRNode(n, 0)


def test_module_paths_from_torch_onnx_metadata_win_over_shared_weights():
    # torch.onnx gives the key projection the query's zero bias: the name must not come from it
    q = node("MatMul", ["x", "w_q"], "node_MatMul_30", ["", "layers.0", "layers.0.attention",
                                                        "layers.0.attention.q_proj", "linear"])  # fmt: skip
    k = node("Add", ["y", "layers.0.attention.q_proj.bias"], "node_linear_1",
             ["", "layers.0", "layers.0.attention", "layers.0.attention.k_proj", "linear_1"])  # fmt: skip
    residual = node("Add", ["a", "b"], "node_add_151", ["", "layers.0", "add_151"])
    names = SourceNames([q, k, residual])
    assert names.hint(q, "val_31") == "layers.0.attention.q_proj"
    assert names.hint(k, "layers.0.attention.q_proj.bias") == "layers.0.attention.k_proj"
    # an op computed in a module that holds others takes the module's path and its own op
    assert names.hint(residual) == "layers.0.add"


def test_nodes_outside_any_module_have_no_metadata_name():
    size = node("Shape", ["x"], "node_Shape_0", ["_empty_nn_module_stack_from_metadata_hook", "sym_size_int_2"])
    assert SourceNames([size]).hint(size) is None


def test_namespace_metadata_is_read_when_name_scopes_are_missing():
    n = IRNode(h.make_node("Conv", ["x", "w"], ["y"], name="node_Conv_1"), 0)
    namespace = ": Net/features: Sequential/features.0: Conv2d/conv2d: aten.conv2d"
    n.proto.metadata_props.add(key="namespace", value=namespace)
    assert SourceNames([n]).hint(n, "w") == "features.0"


def test_caffe2_weights_name_layers_whose_nodes_have_none():
    # light_shufflenet.onnx (Caffe2): nodes without names, weights named gpu_0/conv3_0_w_0
    conv = IRNode(h.make_node("Conv", ["x", "gpu_0/conv3_0_w_0"], ["y"]), 0)
    names = SourceNames([conv])
    assert names.hint(conv, "gpu_0/conv3_0_w_0") == "conv3_0"
    assert names.hint(conv) is None


@pytest.mark.parametrize(
    "name,stem",
    [
        ("layer1.0.conv1.weight", "layer1.0.conv1"),
        ("fc.bias", "fc"),
        ("gpu_0/conv3_0_w_0", "conv3_0"),
        ("gpu_0/conv3_0_bn_b_0", "conv3_0_bn"),
        ("dense/kernel:0", "dense"),
        ("conv1_weight", "conv1"),
        ("embeddings", "embeddings"),
    ],
)
def test_weight_stem(name, stem):
    assert weight_stem(name) == stem


@pytest.mark.parametrize(
    "name,invented",
    [("node_Conv_12", True), ("node", True), ("Conv__3", True), ("n7", True), ("Conv_0", True), ("conv", True),
     ("/layer1/layer1.0/conv1/Conv", True), ("", True), ("conv1", False), ("model/dense_1/MatMul", False),
     ("fire2/squeeze1x1", False), ("pool_1", False), ("fc", False)],
)  # fmt: skip
def test_made_up_node_names(name, invented):
    assert made_up(name, "Conv") is invented


def test_meaningful_node_names_are_kept():
    n = IRNode(h.make_node("Conv", ["x", "conv1_w"], ["y"], name="conv1"), 0)
    assert SourceNames([n]).hint(n, "conv1_w") == "conv1"
    assert isinstance(n.proto, onnx.NodeProto)

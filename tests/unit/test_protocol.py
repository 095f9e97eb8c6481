from __future__ import annotations

import importlib.util
import sys

import pytest

from runners.common import rpc
from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.registry import Registry

pytestmark = pytest.mark.unit


@pytest.mark.skipif(importlib.util.find_spec("grpc_tools") is None, reason="grpcio-tools not installed")
def test_descriptor_set_is_current(tmp_path):
    """runner.desc must be what proto/build.py makes from the .proto files."""
    sys.path.insert(0, str(rpc.__file__).rsplit("/runners/", 1)[0] + "/proto")
    import build

    out = tmp_path / "runner.desc"
    build.build(out)
    committed = open(rpc._DESC_PATH, "rb").read()
    assert out.read_bytes() == committed, "run: python proto/build.py"


def test_messages_round_trip():
    t = rpc.pb.Tensor(name="x", dtype="float32", shape=[1, 2], data=b"\0" * 8)
    assert rpc.pb.Tensor.FromString(t.SerializeToString()) == t
    assert set(rpc.METHODS) >= {"Describe", "Parse", "Emit", "Save", "Infer", "Shutdown", "Upload", "Download"}


def test_error_detail_round_trip():
    err = RunnerError(
        "unsupported-op",
        "no",
        file="m.onnx",
        node="conv1",
        op="Conv",
        opset=18,
        hint="h",
        nodes=["a", "b"],
        framework="pytorch",
    )
    back = RunnerError.from_proto(rpc.pb.ErrorDetail.FromString(err.to_proto().SerializeToString()))
    assert (back.reference, back.node, back.op, back.opset, back.nodes) == (
        "unsupported-op",
        "conv1",
        "Conv",
        18,
        ["a", "b"],
    )
    assert "m.onnx: at node 'conv1' (Conv, opset 18): no" == str(back)


def test_registry_picks_highest_since_and_refuses_duplicates():
    reg = Registry("x", "emit")

    @reg.register("Clip", since=6)
    def clip6(node, ctx):
        return 6

    @reg.register("Clip", since=11)
    def clip11(node, ctx):
        return 11

    assert reg.lookup("Clip", 10) is clip6
    assert reg.lookup("Clip", 18) is clip11
    assert reg.lookup("Clip", 5) is None
    with pytest.raises(ValueError):
        reg.register("Clip", since=11)(clip6)


def test_registry_reports_every_unsupported_node_at_once():
    reg = Registry("x", "emit")
    reg.register("Relu")(lambda n, c: None)
    with pytest.raises(UnsupportedOps) as e:
        reg.check([("a", "Relu"), ("b", "Foo"), ("c", "Bar"), ("d", "Foo")], 18)
    assert e.value.nodes == ["b (Foo)", "c (Bar)", "d (Foo)"]
    assert "Bar, Foo" in str(e.value)

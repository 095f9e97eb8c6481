"""runners/common/onnx_wire.py: an .onnx file read without its large raw data and written one
weight at a time gives the same arrays and the same bytes as protobuf's whole-message read and
write."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

from runners.common import ir, onnx_wire

pytestmark = pytest.mark.unit


def model_with_weights() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((64, 300)).astype(np.float32), "big_f32"),  # 76 KB
        numpy_helper.from_array(rng.integers(-9, 9, (40000,)).astype(np.int64), "big_i64"),  # 320 KB
        numpy_helper.from_array(rng.standard_normal((300, 260)).astype(np.float16), "big_f16"),  # 156 KB
        numpy_helper.from_array(rng.standard_normal((3,)).astype(np.float32), "small"),
        h.make_tensor("as_floats", T.FLOAT, [20000], rng.standard_normal(20000).tolist()),  # float_data
        numpy_helper.from_array(rng.integers(0, 2, (70000,)).astype(bool), "big_bool"),  # left to onnx
    ]
    nodes = [h.make_node("MatMul", ["x", "big_f32"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1, 64])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 300])], inits)  # fmt: skip
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 18)], producer_name="wire-test")
    model.metadata_props.add(key="k", value="v")
    return model


def test_scan_leaves_large_raw_data_in_the_file(tmp_path):
    model = model_with_weights()
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    slim, located = onnx_wire.scan(str(path))
    assert sorted(loc.name for loc in located) == ["big_f16", "big_f32", "big_i64"]
    assert len(slim) < 20000 * 4 + 70000 + 4096  # float_data and bool kept, the others left out
    parsed = onnx.ModelProto()
    parsed.ParseFromString(slim)
    full = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for init in parsed.graph.initializer:
        if init.name in {loc.name for loc in located}:
            assert not init.raw_data and list(init.dims) == list(full[init.name].shape)
        else:
            np.testing.assert_array_equal(numpy_helper.to_array(init), full[init.name])
    for loc in located:
        arr = loc.read()
        assert arr.dtype == full[loc.name].dtype
        np.testing.assert_array_equal(arr, full[loc.name])
    assert parsed.producer_name == "wire-test" and parsed.metadata_props[0].value == "v"


def test_a_file_that_is_not_protobuf_is_refused(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x0a\xff\xff\xff\x0f garbage")
    with pytest.raises(onnx_wire.WireError):
        onnx_wire.scan(str(path))


def test_wrong_amount_of_raw_data_is_left_for_onnx_to_refuse(tmp_path):
    model = model_with_weights()
    del model.graph.initializer[0].dims[:]
    model.graph.initializer[0].dims.extend([64, 299])  # the data holds 64 x 300
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    _, located = onnx_wire.scan(str(path))
    assert "big_f32" not in {loc.name for loc in located}


def test_write_model_gives_protobufs_bytes():
    model = model_with_weights()
    arrays = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    graph_only, _ = ir.split(model)
    protos = [onnx.TensorProto() for _ in graph_only.graph.initializer]
    for p, init in zip(protos, graph_only.graph.initializer):
        p.CopyFrom(init)
    graph_only.graph.ClearField("initializer")
    reads = []

    def reader(name):
        def read():
            reads.append(name)
            return arrays[name]

        return read

    out = io.BytesIO()
    onnx_wire.write_model(out, graph_only, [(p, reader(p.name)) for p in protos])
    assert out.getvalue() == ir.join(model_with_weights().SerializeToString(), arrays).SerializeToString()
    assert sorted(reads) == sorted(arrays)  # each array read once

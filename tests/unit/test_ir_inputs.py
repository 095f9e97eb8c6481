"""The graph inputs a check needs, read from the IR summary when it describes the graph's bytes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

from broker.ir import inputs as ir_inputs
from broker.ir import save_ir
from broker.ir.io import read_graph

pytestmark = pytest.mark.unit


def token_model() -> onnx.ModelProto:
    """Token ids (int64, free batch and sequence, named) into a 50-row table, and a float mask with a
    dimension of no name and one of value 0."""
    table = np.zeros((50, 8), np.float32)
    ids = h.make_tensor_value_info("ids", T.INT64, ["batch", "seq"])
    mask = h.make_tensor_value_info("mask", T.FLOAT, [None, 0, 8])
    g = h.make_graph(
        [h.make_node("Gather", ["table", "ids"], ["e"]), h.make_node("Mul", ["e", "mask"], ["y"])],
        "tokens",
        [ids, mask],
        [h.make_tensor_value_info("y", T.FLOAT, None)],
        [onnx.numpy_helper.from_array(table, "table")],
    )
    return h.make_model(g, opset_imports=[h.make_opsetid("", 18)])


def test_the_summary_gives_what_the_graph_gives(tmp_path):
    files = save_ir(token_model(), tmp_path / "m")
    parsed = ir_inputs.describe(read_graph(files.graph))
    assert ir_inputs._from_summary(files, files.graph.read_bytes()) == parsed
    assert ir_inputs.read(files) == parsed
    ids, mask = parsed
    assert (ids.shape, ids.dtype, ids.dim_names, ids.range) == ([None, None], "int64", ["batch", "seq"], (0, 50))
    assert (mask.shape, mask.dtype, mask.dim_names, mask.range) == ([None, None, 8], "float32", ["", "", ""], None)


def test_a_summary_of_other_bytes_is_not_trusted(tmp_path):
    """A graph replaced after its summary was written (or a summary edited, or one without the
    digest, as older versions wrote) is read as a graph."""
    files = save_ir(token_model(), tmp_path / "m")
    other = token_model()
    other.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 7
    files.graph.write_bytes(other.SerializeToString())
    assert ir_inputs.read(files)[0].shape == [None, 7]

    files = save_ir(token_model(), tmp_path / "n")
    summary = json.loads(files.summary.read_text())
    summary["inputs"][0]["dim_names"] = ["edited", "seq"]
    del summary[ir_inputs.DIGEST_KEY]
    files.summary.write_text(json.dumps(summary))
    assert ir_inputs.read(files)[0].dim_names == ["batch", "seq"]
    files.summary.write_text("{not json")
    assert ir_inputs.read(files)[0].range == (0, 50)

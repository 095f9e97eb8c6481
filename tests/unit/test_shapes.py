"""Input shapes without any runner: --inputShape read strictly, free dimensions given documented
values (never 1x1 images), inputs too large to make refused before allocation."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run_cli

from broker.errors import BrokerError
from broker.parity import seeded_inputs
from broker.pipeline import InputShape
from broker.shapes import ShapeHint, check_size, parse_dims, resolve

pytestmark = pytest.mark.unit


def test_input_shapes_are_read_strictly():
    assert parse_dims("1,3,224,224", "s") == [1, 3, 224, 224]
    assert parse_dims("[1, 3, 8, 8]", "s") == [1, 3, 8, 8] == parse_dims("1x3x8x8", "s")
    assert InputShape.parse("data:1,3,8,8") == InputShape("data", [1, 3, 8, 8])
    for text, dim, value, reference in (
        ("1,3,-16,16", 2, "-16", "bad-shape"),
        ("1,0,16,16", 1, "0", "bad-shape"),
        ("1,3,a*b,16", 2, "a*b", "bad-option"),
        ("1,3,-1.5,16", 2, "-1.5", "bad-option"),
        ("1,3,,16", 2, "''", "bad-option"),
        ("1,3,2.5,16", 2, "2.5", "bad-option"),
    ):
        with pytest.raises(BrokerError) as e:
            InputShape.parse(text)
        assert e.value.reference == reference and f"dimension {dim}" in str(e.value) and value in str(e.value)


@pytest.mark.parametrize("shape", ["1,3,-16,16", "0,3,16,16", "1,3,a*b,16"])
def test_cli_refuses_non_positive_shapes_before_any_work(tmp_path, shape):
    """The source does not exist: had the broker started on it, the error would be missing-file."""
    r = run_cli("convert", "-sf", "onnx", "-in", tmp_path / "nope.onnx", "-df", "onnx", "-om", tmp_path / "o.onnx",
                "--inputShape", shape)  # fmt: skip
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert ("bad-shape" in r.stderr or "bad-option" in r.stderr) and "missing-file" not in r.stderr
    assert shape in r.stderr
    r = run_cli("infer", tmp_path / "nope.onnx", "--inputShape", shape)
    assert r.exit_code == 1 and "missing-file" not in r.stderr and shape in r.stderr


def test_input_shapes_name_free_dimensions():
    """`?`, `-1`, `None` or a name leave a dimension free; MMdnn's form without the batch leaves the
    batch free; the parser is given the first values they are checked at."""
    for text in ("?,3,8,8", "-1,3,8,8", "None,3,8,8", "N,3,8,8", "[N, 3, 8, 8]"):
        shape = InputShape.parse(text)
        assert shape.shape == [None, 3, 8, 8], text
        assert shape.concrete() == [1, 3, 8, 8] and shape.free_axes(4, "x") == {0: "N"}, text
    named = InputShape.parse("ids:batch,seq")
    assert (named.name, named.shape, named.dim_names) == ("ids", [None, None], ["batch", "seq"])
    assert named.free_axes(2, "ids") == {0: "batch", 1: "seq"} and named.concrete() == [1, 16]
    mmdnn = InputShape.parse("3,224,224")
    assert mmdnn.free_axes(4, "data") == {0: "N"}, "MMdnn's form keeps the batch free"
    assert mmdnn.free_axes(3, "data") == {} and mmdnn.concrete() == [3, 224, 224]
    assert InputShape.parse("1,3,224,224").free_axes(4, "data") == {}, "a batch given is kept"
    assert InputShape.parse("1,?,5").free_axes(3, "x") == {1: "x_dim1"}
    assert parse_dims("2x?x4", "s") == [2, None, 4]
    (spec,), chosen = resolve([("data", [None, 3, 224, 224], "float32")], [mmdnn.hint()])
    assert spec[1] == [1, 3, 224, 224] and "batch" in chosen[0].reason


def test_free_dimensions_get_documented_defaults_with_reasons():
    specs = [("image", [None, 3, None, None], "float32")]
    (spec,), chosen = resolve(specs)
    assert spec[1] == [1, 3, 224, 224]
    assert [(c.axis, c.value) for c in chosen] == [(0, 1), (2, 224), (3, 224)]
    assert "batch" in chosen[0].reason and "image" in chosen[1].reason
    (nhwc,), _ = resolve([("x", [None, None, None, 3], "float32")])
    assert nhwc[1] == [1, 224, 224, 3]
    (square,), chosen = resolve([("x", [1, 3, None, 64], "float32")])
    assert square[1] == [1, 3, 64, 64] and "dimension 3" in chosen[0].reason
    (tokens,), chosen = resolve([("ids", [None, None], "int64")])
    assert tokens[1] == [1, 16] and "sequence length" in chosen[1].reason
    assert seeded_inputs(specs)["image"].shape == (1, 3, 224, 224), "never verified at 1x1"


def test_free_dimensions_from_hints_and_the_models_names():
    specs = [("ids", [None, None], "int64"), ("mask", [None, None], "int64")]
    names = {"ids": ["batch", "seq"], "mask": ["batch", "seq"]}
    resolved, chosen = resolve(specs, [ShapeHint("ids", [2, 40], "--inputShape")], names)
    assert [s[1] for s in resolved] == [[2, 40], [2, 40]], "dimensions sharing a name share a value"
    assert chosen[0].reason == "from --inputShape" and "like ids[1]" in chosen[3].reason
    (spec,), chosen = resolve([("x", [None, 3, None, None], "float32")], [ShapeHint("", [3, 96, 96], "--inputShape")])
    assert spec[1] == [1, 3, 96, 96], "MMdnn's form without the batch"
    (spec,), chosen = resolve([("x", [None, 3, None, None], "float32")], dim_names={"x": ["N", "C", "height", "w"]})
    assert spec[1] == [1, 3, 224, 224] and "'height'" in chosen[1].reason
    resolved, _ = resolve([("a", [4, None], "float32"), ("b", [None, 7], "float32")],
                          dim_names={"a": ["n", "k"], "b": ["n", "k"]})  # fmt: skip
    assert [s[1] for s in resolved] == [[4, 7], [4, 7]], "a free dimension named like a fixed one takes its size"


def test_inputs_too_large_to_make_are_refused_before_allocation():
    huge = [("x", [1, 3, 100000, 100000], "float32")]
    with pytest.raises(BrokerError) as e:
        seeded_inputs(huge)
    assert e.value.reference == "bad-shape" and "120,000,000,000 bytes" in str(e.value) and "'x'" in str(e.value)
    with pytest.raises(BrokerError):
        check_size([("x", [1000], "float64")], limit=7999)
    check_size([("x", [1000], "float64")], limit=8000)
    assert seeded_inputs([("x", [2, 3], "float32")], 0)["x"].dtype == np.float32

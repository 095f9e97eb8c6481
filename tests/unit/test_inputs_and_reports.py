from __future__ import annotations

import numpy as np
import pytest

from broker.errors import BrokerError
from broker.inputs import ImagePreprocess, load_inputs
from broker.layers import LayerError, LayerReport
from broker.parity import compare_outputs
from broker.report import write_report

pytestmark = pytest.mark.unit


def test_image_preprocessing_math(tmp_path):
    from PIL import Image

    pixels = np.array([[[255, 0, 10], [0, 0, 0]], [[10, 20, 30], [100, 110, 120]]], dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    spec = [("data", [1, 3, 2, 2], "float32")]
    prep = ImagePreprocess(order="bgr", scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    x = load_inputs(tmp_path / "x.png", spec, 0, prep)["data"]
    assert x.shape == (1, 3, 2, 2) and x.dtype == np.float32
    bgr = pixels[:, :, ::-1].astype(np.float32) / 255
    expected = ((bgr - 0.5) / np.array([0.25, 0.5, 1.0])).transpose(2, 0, 1)[None]
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-6)


def test_npz_inputs_by_name_and_bad_files(tmp_path):
    np.savez(tmp_path / "in.npz", b=np.ones(2, np.float32), a=np.zeros(3, np.float32))
    got = load_inputs(tmp_path / "in.npz", [("a", [3], "float32"), ("b", [2], "float32")], 0)
    assert got["a"].shape == (3,) and got["b"].shape == (2,)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(BrokerError) as e:
        load_inputs(tmp_path / "bad.png", [("a", [1, 3, 4, 4], "float32")], 0)
    assert e.value.reference == "bad-input" and "bad.png" in str(e.value)


def test_reports_render(tmp_path):
    ref = [("y", np.arange(10, dtype=np.float32))]
    cand = [("y", np.arange(10, dtype=np.float32) + np.float32(0.1) * (np.arange(10) % 2))]
    report = compare_outputs(cand, ref)
    assert not report.passed and sum(c for _, c in report.outputs[0].histogram) == 10
    layers = LayerReport(1e-4, 1e-3, "ref", "cand", [
        LayerError("a", "n1", "Conv", {}, [1], 0.0, 0.0, 0, 1, True),
        LayerError("b", "n2", "Relu", {}, [1], 0.5, 0.5, 1, 1, False),
    ])  # fmt: skip
    inputs = [{"name": "x", "shape": [1], "dtype": "float32", "source": "seed 0", "mean": 0.0, "std": 1.0}]
    html = write_report(tmp_path / "r.html", report, inputs, layers).read_text()
    assert "<svg" in html and "FAIL" in html and "n2" in html and "<polyline" in html
    md = write_report(tmp_path / "r.md", report, inputs, layers).read_text()
    assert "First divergent IR value: `b` from node `n2` (Relu" in md


def test_token_ids_stay_inside_the_embedding_they_index():
    from onnx import TensorProto, helper

    from broker.ir.ranges import integer_input_ranges
    from broker.parity import seeded_inputs

    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["ids"], ["ids64"], to=TensorProto.INT64),
            helper.make_node("Gather", ["words", "ids64"], ["embedded"]),
            helper.make_node("Gather", ["types", "type_ids"], ["typed"]),
            helper.make_node("Gather", ["words", "ids"], ["again"]),  # read twice: the smaller table wins
            helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
        ],
        "bert_inputs",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT32, [2, 64]),
            helper.make_tensor_value_info("type_ids", TensorProto.INT64, [2, 64]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, [2, 64]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("embedded", "typed", "again", "maskf")],
        [
            helper.make_tensor("words", TensorProto.FLOAT, [5, 4], [0.0] * 20),
            helper.make_tensor("types", TensorProto.FLOAT, [2, 4], [0.0] * 8),
        ],  # fmt: skip
    )
    ranges = integer_input_ranges(helper.make_model(graph))
    assert ranges == {"ids": (0, 5), "type_ids": (0, 2)}
    specs = [("ids", [2, 64], "int32"), ("type_ids", [2, 64], "int64"), ("mask", [2, 64], "int64")]
    x = seeded_inputs(specs, seed=0, ranges=ranges)
    assert x["ids"].dtype == np.int32 and x["ids"].min() == 0 and x["ids"].max() == 4
    assert set(np.unique(x["type_ids"])) == {0, 1}
    assert x["mask"].max() > 4  # no table: the default range


def test_free_dimensions_checked_at_a_second_size(tmp_path):
    """Every free dimension at a second value (batch 3, a length half as long again), dimensions
    sharing a name together; the reports show both checks; a failure at the second size fails."""
    from broker.inputs import at_other_sizes, prepare_inputs

    specs = [("ids", [None, None], "int64"), ("mask", [None, None], "int64"), ("x", [2, 4], "float32")]
    names = {"ids": ["batch", "seq"], "mask": ["batch", "seq"], "x": ["", ""]}
    first = prepare_inputs(specs, None, 0, dim_names=names, ranges={"ids": (0, 7)})
    assert {n: a.shape for n, a in first.arrays.items()} == {"ids": (1, 16), "mask": (1, 16), "x": (2, 4)}
    second = at_other_sizes(first, names, 0, {"ids": (0, 7)})
    assert second is not None
    assert {n: a.shape for n, a in second.arrays.items()} == {"ids": (3, 24), "mask": (3, 24), "x": (2, 4)}
    assert second.arrays["ids"].max() < 7 and all("first" in c.reason for c in second.chosen)
    assert at_other_sizes(prepare_inputs([("x", [2, 4], "float32")], None, 0), {}, 0) is None

    y1, y3 = np.ones((1, 5), np.float32), np.ones((3, 5), np.float32)
    report = compare_outputs([("y", y1)], [("y", y1)])
    report.inputs = first.describe()
    report.other_sizes.append(compare_outputs([("y", y3 + 1)], [("y", y3)]))
    report.other_sizes[0].inputs = second.describe()
    assert not report.passed and report.to_dict()["other_sizes"][0]["passed"] is False
    md = write_report(tmp_path / "r.md", report, report.inputs).read_text()
    assert "| y | 1x5 |" in md and "| y | 3x5 |" in md and "ids 3x24, mask 3x24, x 2x4" in md
    html = write_report(tmp_path / "r.html", report, report.inputs).read_text()
    assert "3×5" in html and "other sizes" in html

"""Verification users can trust: reports, image inputs, and layer-wise divergence on real runners."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from helpers import run_cli

pytestmark = pytest.mark.runner


@pytest.fixture(scope="module")
def broken(zoo, tmp_path_factory):
    """The zoo's ResNet as ONNX with one weight of layer2's first conv changed: a known divergence."""
    m = onnx.load(str(zoo["resnet"]["dir"] / "resnet.onnx"))
    init = next(i for i in m.graph.initializer if i.name == "layer2.conv1.weight")
    a = onnx.numpy_helper.to_array(init).copy()
    a.flat[0] += 0.5
    init.CopyFrom(onnx.numpy_helper.from_array(a, init.name))
    consumer = next(n for n in m.graph.node if init.name in n.input)
    path = tmp_path_factory.mktemp("broken") / "broken.onnx"
    onnx.save(m, str(path))
    return path, consumer


def test_layers_names_the_first_divergent_node(tmp_path, zoo, broken):
    path, consumer = broken
    report = tmp_path / "layers.html"
    r = run_cli("compare", zoo["resnet"]["dir"] / "resnet.onnx", path, "--layers", "--report", report, "--json")
    assert r.exit_code == 1
    result = json.loads(r.stdout)
    first = result["layers"]["first_divergent"]
    assert first["node"] == consumer.name and first["op"] == "Conv" and first["value"] == consumer.output[0]
    assert first["attributes"]["strides"] == "[2, 2]"
    # everything before it matched
    layers = result["layers"]["layers"]
    assert all(row["passed"] for row in layers[: layers.index(first)])
    text = report.read_text()
    assert "First divergent IR value" in text and consumer.name in text and "<polyline" in text


def test_layers_of_a_converted_model_match(tmp_path, zoo):
    """.pt2 (no intermediates of its own: the IR run by onnxruntime stands in) vs the generated code."""
    src = zoo["inception"]["dir"] / "inception.pt2"
    out = tmp_path / "inc.pth"
    assert run_cli("convert", "-sf", "pytorch", "-in", src, "-df", "pytorch", "-om", out, "--no-verify").exit_code == 0
    r = run_cli("compare", src, out, "--layers", "--json")
    assert r.exit_code == 0, r.stderr
    layers = json.loads(r.stdout)["layers"]
    assert layers["first_divergent"] is None and layers["compared"] >= 15
    assert "IR" in layers["reference_values"]


def test_convert_report_and_image_input(tmp_path, zoo):
    from PIL import Image

    img = tmp_path / "cat.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(img)
    report = tmp_path / "report.md"
    out = tmp_path / "sq.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", zoo["squeezenet"]["dir"] / "squeezenet.pt2", "-df", "onnx",
                "-om", out, "--input", img, "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
                "--channel-order", "bgr", "--report", report)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    text = report.read_text()
    assert "**PASS**" in text and "cat.png" in text and "1x3x48x48" in text and "Error histogram" in text


def test_report_must_be_html_or_md(tmp_path, zoo):
    r = run_cli(
        "compare", zoo["vgg"]["dir"] / "vgg.onnx", zoo["vgg"]["dir"] / "vgg.pt2", "--report", tmp_path / "r.pdf"
    )
    assert r.exit_code == 1 and "bad-option" in r.stderr


def test_layers_of_a_keras_model_written_by_mmbroker(tmp_path, zoo, broken):
    """A saved .keras keeps a map from its layers to IR values beside it (`.irmap.json`): layer-wise
    comparison works on it, and finds the same first divergence."""
    path, consumer = broken
    out = tmp_path / "resnet.keras"
    r = run_cli("convert", "-sf", "onnx", "-in", zoo["resnet"]["dir"] / "resnet.onnx", "-df", "keras", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "resnet.keras.irmap.json").exists()
    r = run_cli("compare", zoo["resnet"]["dir"] / "resnet.onnx", out, "--layers", "--json")
    assert r.exit_code == 0, r.stderr
    layers = json.loads(r.stdout)["layers"]
    assert layers["first_divergent"] is None and layers["compared"] >= 10
    r = run_cli("compare", path, out, "--layers", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["layers"]["first_divergent"]["node"] == consumer.name

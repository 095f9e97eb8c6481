"""The darknet runner through the real CLI and the real runner (OpenCV 4.14 in its own environment):
DarkNet and Torch7 files written by the tests convert to ONNX with parity against OpenCV; bad files
(truncated or overlong .weights, an unknown section, an unknown Torch7 class, a header that lies)
fail with the file and the layer named and nothing written; intermediates come keyed by layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_clean_failure, run_cli
from parity import darknet_models as dm
from parity import t7_models as tm

pytestmark = pytest.mark.runner


@pytest.fixture(scope="module")
def files(env_or_skip, tmp_path_factory) -> Path:
    env_or_skip("darknet")
    out = tmp_path_factory.mktemp("darknet_bad")
    net = dm.ops_yolov2()
    net.write(out, "good")
    text = net.cfg()
    data = net.weights()
    (out / "truncated.weights").write_bytes(data[: len(data) - 1000])
    (out / "overlong.weights").write_bytes(data + b"\0" * 64)
    (out / "unknown.cfg").write_text(text.replace("[reorg]", "[space_shuffle]"))
    lying = bytearray(data)
    lying[4:8] = np.array([1], "<i4").tobytes()  # says version 0.1 (32-bit seen) over a 64-bit one
    (out / "lying.weights").write_bytes(bytes(lying))
    tm.write(tm.t7_cnn(), out / "cnn.t7")
    tm.write(tm.t7_unknown(), out / "unknown.t7")
    return out


def convert(cfg: Path, weights: Path, out: Path, *extra: str):
    return run_cli("convert", "-sf", "darknet", "-in", cfg, "-iw", weights, "-df", "onnx", "-om", out, *extra)


def test_good_files_convert_with_parity(files, tmp_path):
    out = tmp_path / "good.onnx"
    r = convert(files / "good.cfg", files / "good.weights", out)
    assert r.exit_code == 0, r.stderr
    assert out.exists() and "PASS" in r.stdout + r.stderr


def test_truncated_weights(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files / "good.cfg", files / "truncated.weights", out)
    assert_clean_failure(r, out, "truncated.weights", "corrupt-model", "the file ends inside layer 12 [convolutional]")


def test_overlong_weights(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files / "good.cfg", files / "overlong.weights", out)
    assert_clean_failure(r, out, "overlong.weights", "16 float(s) left over after layer 12 [convolutional]")


def test_unknown_section_names_its_line(files, tmp_path):
    out = tmp_path / "o.onnx"
    line = (files / "unknown.cfg").read_text().splitlines().index("[space_shuffle]") + 1
    r = convert(files / "unknown.cfg", files / "good.weights", out)
    assert_clean_failure(r, out, "unknown.cfg", "unsupported-op", f"layer 9 [space_shuffle] at line {line}")


def test_header_that_lies_and_darknet_start(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files / "good.cfg", files / "lying.weights", out)
    assert_clean_failure(r, out, "lying.weights", "1 float(s) left over", "--darknetStart 1")
    r = convert(files / "good.cfg", files / "lying.weights", out, "--darknetStart", "1")
    assert r.exit_code == 0, r.stderr
    assert out.exists()


def test_unknown_torch7_class(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "torch7", "-in", files / "unknown.t7", "-df", "onnx", "-om", out,
                "--inputShape", "1,3,8,8")  # fmt: skip
    assert_clean_failure(r, out, "unknown.t7", "unsupported-op", "module 1.2 (nn.SpatialUpSamplingBilinear)")


def test_torch7_without_input_shape(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "torch7", "-in", files / "cnn.t7", "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "cnn.t7", "--inputShape")


def test_intermediates_keyed_by_layer(session, files):
    x = {"data": np.random.default_rng(0).standard_normal((1, 3, 32, 48)).astype(np.float32)}
    outputs, inter, engine = session.infer("darknet", [str(files / "good.cfg"), str(files / "good.weights")], x,
                                           intermediates=True)  # fmt: skip
    assert "readNetFromDarknet" in engine
    assert [n for n, _ in outputs] == ["layer_12"] and outputs[0][1].shape == (1, 40, 8, 12)
    assert {"layer_0/conv", "layer_0/bn", "layer_0", "layer_9", "layer_10"} <= set(inter)
    assert inter["layer_9"].shape == (1, 32, 8, 12)  # the reorg of 8 x 16 x 24
    ir = session.toir("darknet", [str(files / "good.cfg"), str(files / "good.weights")])
    ir_out, ir_inter, _ = session.infer("onnx", [str(ir.graph), str(ir.weights)], x, intermediates=True)
    np.testing.assert_allclose(ir_inter["layer_9"], inter["layer_9"], rtol=1e-4, atol=1e-4)


def test_compare_layers_names_no_divergence(files, tmp_path):
    out = tmp_path / "good.onnx"
    assert convert(files / "good.cfg", files / "good.weights", out).exit_code == 0
    r = run_cli("compare", f"darknet:{files / 'good.cfg'},{files / 'good.weights'}", out, "--layers")
    assert r.exit_code == 0, r.stderr


def test_compare_layers_of_a_torch7_net_with_its_input_shape(files, tmp_path):
    """A .t7 stores no input shape: compare --layers parses the reference with --inputShape, and
    OpenCV's layer names are the IR's."""
    out = tmp_path / "cnn.onnx"
    r = run_cli("convert", "-sf", "torch7", "-in", files / "cnn.t7", "--inputShape", "1,3,16,16", "-df", "onnx",
                "-om", out)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = run_cli("compare", f"torch7:{files / 'cnn.t7'}", out, "--inputShape", "1,3,16,16", "--layers", "--json")
    assert r.exit_code == 0, r.stderr
    import json

    layers = json.loads(r.stdout)["layers"]
    assert layers["first_divergent"] is None and layers["compared"] >= 15, layers

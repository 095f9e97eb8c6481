"""CoreML bad input through the real CLI and runner: IR ops with no CoreML layer are all listed,
attribute-level gaps name the node, corrupt .mlmodel files give a clear error naming the file."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from helpers import onnx_model, run_cli
from onnx import helper as h

from broker.errors import BrokerError

pytestmark = pytest.mark.runner


def assert_clean_failure(r, out, *words):
    assert r.exit_code == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not out.exists(), "a failed conversion left an output file"
    assert not [p for p in out.parent.iterdir() if p.name.startswith("." + out.name)], "temporary file left"


def _save(model, path):
    import onnx

    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def good_mlmodel(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    src = _save(
        onnx_model(
            [h.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])],
            [("x", [1, 3, 8, 8])],
            ["y"],
            [("w", w)],
        ),
        d / "good.onnx",
    )
    out = d / "good.mlmodel"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert "spec interpretation" in r.stdout + r.stderr
    return out


def test_unsupported_ops_are_all_listed(tmp_path):
    m = onnx_model(
        [
            h.make_node("Relu", ["x"], ["r"], name="relu1"),
            h.make_node("Cos", ["r"], ["t"], name="cos1"),
            h.make_node("Erf", ["t"], ["e"], name="erf1"),
            h.make_node("Cos", ["e"], ["y"], name="cos2"),
        ],
        [("x", [1, 3, 4, 5])],
        [("y", [1, 3, 4, 5])],
    )
    src = _save(m, tmp_path / "odd.onnx")
    out = tmp_path / "odd.mlmodel"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "unsupported-op", "cos1", "cos2", "erf1", "Cos", "Erf")
    assert "relu1" not in r.stderr


def test_mlmodel_refusal_names_the_format_that_has_the_ops(tmp_path):
    """A transformer block's LayerNormalization and Erf have no layer in the classic .mlmodel: the
    refusal points to .mlpackage, which then converts with parity."""
    rng = np.random.default_rng(0)
    m = onnx_model(
        [
            h.make_node("LayerNormalization", ["x", "g", "b"], ["n"], name="ln1", axis=-1),
            h.make_node("Erf", ["n"], ["y"], name="erf1"),
        ],
        [("x", [1, 6, 8])],
        [("y", [1, 6, 8])],
        [("g", rng.standard_normal(8).astype(np.float32)), ("b", rng.standard_normal(8).astype(np.float32))],
    )
    src = _save(m, tmp_path / "block.onnx")
    out = tmp_path / "block.mlmodel"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "unsupported-op", "ln1", "erf1", "-om model.mlpackage")
    package = tmp_path / "block.mlpackage"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", package)
    assert r.exit_code == 0, r.stderr
    assert "parity: PASS" in r.stdout + r.stderr


def test_attribute_without_coreml_equivalent_names_the_node(tmp_path):
    m = onnx_model(
        [h.make_node("Softmax", ["x"], ["y"], name="softmax_h", axis=2)], [("x", [1, 3, 4, 5])], [("y", [1, 3, 4, 5])]
    )
    src = _save(m, tmp_path / "softmax.onnx")
    out = tmp_path / "softmax.mlmodel"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "softmax_h", "Softmax", "axis 2")


def test_truncated_mlmodel(tmp_path, good_mlmodel):
    bad = tmp_path / "truncated.mlmodel"
    data = good_mlmodel.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "coreml", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "truncated.mlmodel", "corrupt-model")


def test_garbage_mlmodel(tmp_path):
    bad = tmp_path / "garbage.mlmodel"
    bad.write_bytes(os.urandom(3000))
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "coreml", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "garbage.mlmodel")
    assert "corrupt-model" in r.stderr or "unsupported-format" in r.stderr


def test_empty_and_package_at_infer(session, tmp_path):
    empty = tmp_path / "empty.mlmodel"
    empty.write_bytes(b"")
    with pytest.raises(BrokerError) as e:
        session.infer("coreml", [str(empty)], {"x": np.zeros((1, 3, 8, 8), np.float32)})
    assert e.value.reference == "corrupt-model"
    package = tmp_path / "model.mlpackage"
    package.mkdir()
    (package / "Manifest.json").write_text("{}")
    with pytest.raises(BrokerError) as e:
        session.infer("coreml", [str(package)], {"x": np.zeros((1, 3, 8, 8), np.float32)})
    assert e.value.reference == "corrupt-model" and "model.mlpackage" in str(e.value)


def test_wrong_input_shape_at_infer(tmp_path, good_mlmodel):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 4, 8), np.float32))
    r = run_cli("infer", good_mlmodel, "--input", x)
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r.stderr
    assert "good.mlmodel" in r.stderr


def test_wrong_output_extension(tmp_path, good_mlmodel):
    out = tmp_path / "o.mlmodelc"
    r = run_cli("convert", "-sf", "coreml", "-in", good_mlmodel, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "unsupported-format", ".mlmodel", ".mlpackage")


def test_corrupt_mlpackage_names_the_package(tmp_path):
    pkg = tmp_path / "broken.mlpackage"
    (pkg / "Data" / "com.apple.CoreML").mkdir(parents=True)
    (pkg / "Manifest.json").write_text("{not json")
    (pkg / "Data" / "com.apple.CoreML" / "model.mlmodel").write_bytes(b"\x00garbage")
    r = run_cli("convert", "-sf", "coreml", "-in", pkg, "-df", "onnx", "-om", tmp_path / "out.onnx")
    assert_clean_failure(r, tmp_path / "out.onnx", "broken.mlpackage", "corrupt-model")


def test_mlpackage_refuses_an_op_it_cannot_write(tmp_path):
    """An IR op with no ML Program converter is named with its node, and no package is left behind."""
    src = _save(
        onnx_model(
            [
                h.make_node("Relu", ["x"], ["r"], name="relu1"),
                h.make_node("Hardmax", ["r"], ["y"], name="hardmax1"),
            ],
            [("x", [1, 3, 4, 4])],
            ["y"],
        ),
        tmp_path / "hardmax.onnx",
    )
    out = tmp_path / "hardmax.mlpackage"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "hardmax1", "Hardmax")


@pytest.mark.parametrize(
    "attrs, scales, words",
    [
        (dict(mode="cubic"), [1, 1, 2, 2], ["mode cubic", "not converted"]),
        (
            dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize"),
            [1, 1, 2, 2],
            ["tf_crop_and_resize", "not converted"],
        ),
        (
            dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
            [1, 1, 1.5, 2],
            ["integer factors", "not converted"],
        ),
    ],
    ids=["cubic", "tf_crop_and_resize", "fractional-nearest"],
)
def test_mlpackage_refuses_a_resize_it_cannot_write_exactly(tmp_path, attrs, scales, words):
    """A Resize form with no exact MIL equivalent is refused naming the node and what is not
    converted, before any package is written (the .mlmodel path has its own rules)."""
    src = _save(
        onnx_model(
            [h.make_node("Resize", ["x", "", "scales"], ["y"], name="resize_odd", **attrs)],
            [("x", [1, 3, 4, 4])],
            ["y"],
            [("scales", np.array(scales, np.float32))],
        ),
        tmp_path / "resize.onnx",
    )
    out = tmp_path / "resize.mlpackage"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out)
    assert_clean_failure(r, out, "resize_odd", "Resize", *words)


def test_capabilities_per_format(session, env_or_skip):
    """Describe reports the NeuralNetwork and the ML Program writers apart: their ops and the forms
    each lacks (what the broker legalizes before emitting)."""
    env_or_skip("coreml")
    mlmodel, mlpackage = session.capabilities("coreml", ""), session.capabilities("coreml", "mlpackage")
    assert mlmodel.lacks == {"Gemm.general", "LRN.even_size"}
    assert mlpackage.lacks == {"Gemm.general", "LRN.even_size", "Max.variadic", "Min.variadic"}
    assert {"Sum", "Mean", "DepthToSpace", "Reshape"} <= mlmodel.ops and "Erf" not in mlmodel.ops
    assert {"Erf", "Gather", "DepthToSpace", "LayerNormalization"} <= mlpackage.ops and "Sum" not in mlpackage.ops


def _refused(tmp_path, name, nodes, inputs, outputs, inits=(), suffix=".mlmodel"):
    """Convert a graph with int64 initializers (shapes) to CoreML; (CLI result, output path)."""
    model = onnx_model(nodes, inputs, outputs)
    model.graph.initializer.extend(onnx.numpy_helper.from_array(a, n) for n, a in inits)
    src = _save(model, tmp_path / f"{name}.onnx")
    out = tmp_path / f"{name}{suffix}"
    return run_cli("convert", "-sf", "onnx", "-in", src, "-df", "coreml", "-om", out), out


def test_rank5_value_is_refused_naming_the_node(tmp_path):
    """A rank-5 value the classic layout cannot hold (not a reshape-transpose-reshape chain whose
    moved axes fit in C, H, W) is refused naming the node; the same model converts to .mlpackage."""
    nodes = [
        h.make_node("Reshape", ["x", "s5"], ["r"], name="to_rank5"),
        h.make_node("Transpose", ["r"], ["t"], name="move", perm=[0, 3, 1, 4, 2]),
        h.make_node("Reshape", ["t", "s4"], ["y"], name="to_rank4"),
    ]
    inits = [("s5", np.array([1, 2, 3, 4, 5], np.int64)), ("s4", np.array([1, 4, 6, 5], np.int64))]
    r, out = _refused(tmp_path, "rank5", nodes, [("x", [1, 2, 12, 5])], ["y"], inits)
    assert_clean_failure(r, out, "move", "rank-5", ".mlpackage")
    r, _ = _refused(tmp_path, "rank5", nodes, [("x", [1, 2, 12, 5])], ["y"], inits, suffix=".mlpackage")
    assert r.exit_code == 0, r.stderr


def test_channel_shuffle_converts_to_mlmodel(tmp_path):
    """ShuffleNet's channel shuffle (a rank-5 transpose of two channel groups) converts to the
    classic layout as a (C, H, W) reshape, a permute and a reshape back, with parity."""
    nodes = [
        h.make_node("Reshape", ["x", "s5"], ["r"], name="split_groups"),
        h.make_node("Transpose", ["r"], ["t"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        h.make_node("Reshape", ["t", "s4"], ["y"], name="merge_groups"),
    ]
    inits = [("s5", np.array([1, 3, 4, 5, 6], np.int64)), ("s4", np.array([1, 12, 5, 6], np.int64))]
    r, out = _refused(tmp_path, "shuffle", nodes, [("x", [1, 12, 5, 6])], ["y"], inits)
    assert r.exit_code == 0, r.stderr
    assert "spec interpretation" in r.stdout + r.stderr and out.exists()

"""Hostile PyTorch files through the real CLI and the real runner: no payload runs, each is refused
as `unsafe-model` naming the file and what would run, with no traceback and nothing written.

The corpus (tests/per_runner/hostile_pytorch.py) is made in the PyTorch environment and proved
live there: loading each file the naive way runs its payload, which touches a marker file.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from helpers import assert_clean_failure, run_cli, run_in_env

pytestmark = pytest.mark.runner

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> what the refusal names
PT2 = {
    "pt2_pickled_weight": "data/weights/weight_0",
    "pt2_pickled_constant": "data/constants/tensor_0",
    "pt2_opaque_constant": "data/constants/opaque_obj_0",
    "pt2_sample_inputs": "data/sample_inputs/model.pt",
    "pt2_shape_expression": "shape expression",
    "pt2_guard": "guard",
    "pt2_input_name": "not a Python name",
    "pt2_node_target": "torch.os.system",
}
PICKLES = {
    "torch_save_payload_pth": "posix.system",
    "torch_save_payload_pt": "posix.system",
    "torchscript_constants_payload": "constants.pkl imports posix.system",
}


@pytest.fixture(scope="module")
def corpus(env_for, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile_pytorch")
    run_in_env(env_for("pytorch"), os.path.join(HERE, "hostile_pytorch.py"), out, "--prove")
    entries = {e["name"]: e for e in json.loads((out / "hostile.json").read_text())}
    assert set(PT2) | set(PICKLES) <= set(entries)
    return entries


def assert_refused(r, out, entry, *words):
    assert_clean_failure(r, out, os.path.basename(entry["file"]), "unsafe-model", "--trust-model", *words)
    assert not os.path.exists(entry["marker"]), "the payload ran"


@pytest.mark.parametrize("case", sorted(PT2) + sorted(PICKLES))
def test_convert_refuses(corpus, tmp_path, case):
    entry = corpus[case]
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", entry["file"], "-df", "onnx", "-om", out)
    assert_refused(r, out, entry, {**PT2, **PICKLES}[case])


@pytest.mark.parametrize("case", ["pt2_sample_inputs", "pt2_guard", "pt2_input_name", "torch_save_payload_pth"])
def test_toir_and_infer_refuse(corpus, tmp_path, case):
    entry = corpus[case]
    stem = tmp_path / "ir" / "net"
    r = run_cli("toir", "-f", "pytorch", "-in", entry["file"], "-o", stem)
    assert_refused(r, stem.with_suffix(".pb"), entry)
    assert not stem.parent.exists() or not list(stem.parent.iterdir())
    out = tmp_path / "y.npz"
    r = run_cli("infer", f"pytorch:{entry['file']}", "--inputShape", "2,3,8,8", "--out", out)
    assert_refused(r, out, entry)


def test_clean_archive_of_the_same_model_converts(corpus, tmp_path):
    """The corpus's base file, a plain torch.export.save with weights, constants, sample inputs
    and a dynamic batch, passes the checks."""
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", corpus["clean_pt2"]["file"], "-df", "onnx", "-om", out)
    assert r.exit_code == 0, r.stderr
    assert out.exists() and "parity: PASS" in r.stdout + r.stderr


def test_torchscript_needs_trust(corpus, tmp_path):
    """A TorchScript archive is a program (PyTorch's security policy): refused unless trusted."""
    path = corpus["torchscript_clean"]["file"]
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", path, "--inputShape", "2,3,8,8", "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "torchscript_clean.pt", "unsafe-model", "TorchScript", "--trust-model")
    assert "imports" not in r.stderr
    r = run_cli(
        "convert", "-sf", "pytorch", "-in", path, "--inputShape", "2,3,8,8", "-df", "onnx", "-om", out, "--trust-model"
    )
    assert r.exit_code == 0, r.stderr
    assert out.exists()


@pytest.mark.parametrize(
    "case,reference,words",
    [
        ("pt2_future_schema", "unsupported-format", ["schema version", "export it again"]),
        ("pt2_unknown_op", "unsupported-op", ["torch.ops.mmbroker_test.missing_op.default"]),
    ],
)
def test_archives_torch_cannot_read_say_why(corpus, tmp_path, case, reference, words):
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", corpus[case]["file"], "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, case + ".pt2", reference, *words)
    assert "corrupt" not in r.stderr


@pytest.mark.parametrize("head", [b"", b"PK\x03\x04"])
def test_random_bytes_are_corrupt_not_unsafe(tmp_path, head):
    bad = tmp_path / "noise.pth"
    bad.write_bytes(head + np.random.default_rng(0).bytes(3000))
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "noise.pth", "corrupt-model", "not a PyTorch file")
    assert "--trust-model" not in r.stderr and "unsafe" not in r.stderr

"""Bad MXNet input through the real CLI and the real MXNet runner: params that do not match the
symbol, unsupported ops, a missing --inputShape, truncated files. Every error names the file (and
node/op), says what to do, shows no traceback and leaves no output file."""

from __future__ import annotations

import json

import pytest
from helpers import assert_clean_failure, run_cli, run_in_env

pytestmark = pytest.mark.runner

MAKE = r"""
import sys, mxnet as mx, numpy as np
out = sys.argv[1]
d = mx.sym.var("data")
c = mx.sym.Convolution(d, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv1")
b = mx.sym.BatchNorm(c, name="bn1")
net = mx.sym.FullyConnected(mx.sym.Activation(b, act_type="relu", name="relu1"), num_hidden=3, name="fc")
net.save(out + "/good-symbol.json")
rng = np.random.default_rng(0)
p = {"arg:conv1_weight": rng.standard_normal((4, 3, 3, 3)), "arg:conv1_bias": np.zeros(4),
     "arg:bn1_gamma": np.ones(4), "arg:bn1_beta": np.zeros(4), "aux:bn1_moving_mean": np.zeros(4),
     "aux:bn1_moving_var": np.ones(4), "arg:fc_weight": rng.standard_normal((3, 256)), "arg:fc_bias": np.zeros(3)}
mx.nd.save(out + "/good-0000.params", {k: mx.nd.array(v) for k, v in p.items()})
renamed = dict(p); renamed["arg:conv_1_weight"] = renamed.pop("arg:conv1_weight")
mx.nd.save(out + "/renamed-0000.params", {k: mx.nd.array(v) for k, v in renamed.items()})
reshaped = dict(p); reshaped["arg:fc_weight"] = rng.standard_normal((3, 100))
mx.nd.save(out + "/reshaped-0000.params", {k: mx.nd.array(v) for k, v in reshaped.items()})
odd = mx.sym.Correlation(d, d, name="corr1")
odd = mx.sym.contrib.DeformableConvolution(odd, mx.sym.var("offset"), kernel=(3, 3), num_filter=2, name="dcn1")
odd.save(out + "/odd-symbol.json")
mx.nd.save(out + "/odd-0000.params", {})
"""


@pytest.fixture(scope="module")
def files(env_for, tmp_path_factory):
    out = tmp_path_factory.mktemp("mxnet_bad")
    run_in_env(env_for("mxnet"), "-c", MAKE, out, timeout=300)
    return out


def convert(files, symbol, params, out, *extra):
    return run_cli(
        "convert", "-sf", "mxnet", "-in", files / symbol, "-iw", files / params, "-df", "onnx", "-om", out, *extra
    )


def test_good_files_convert(files, tmp_path):
    out = tmp_path / "good.onnx"
    r = convert(files, "good-symbol.json", "good-0000.params", out, "--inputShape", "3,8,8")
    assert r.exit_code == 0, r.stderr
    assert out.exists()


def test_params_with_other_names(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good-symbol.json", "renamed-0000.params", out, "--inputShape", "3,8,8")
    assert_clean_failure(r, out, "renamed-0000.params", "weights-mismatch", "conv1_weight", "conv_1_weight")


def test_params_with_other_shapes(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good-symbol.json", "reshaped-0000.params", out, "--inputShape", "3,8,8")
    assert_clean_failure(r, out, "reshaped-0000.params", "fc_weight", "(3, 100)", "(3, 256)")


def test_unsupported_ops_are_all_listed(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(
        files,
        "odd-symbol.json",
        "odd-0000.params",
        out,
        "--inputShape",
        "data:1,3,8,8",
        "--inputShape",
        "offset:1,18,8,8",
    )
    assert_clean_failure(r, out, "odd-symbol.json", "unsupported-op", "corr1 (Correlation)", "dcn1")


def test_missing_input_shape(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good-symbol.json", "good-0000.params", out)
    assert_clean_failure(r, out, "good-symbol.json", "--inputShape", "3,224,224", "data")


def test_wrong_input_shape(files, tmp_path):
    out = tmp_path / "o.onnx"
    r = convert(files, "good-symbol.json", "good-0000.params", out, "--inputShape", "3,9,9")
    assert_clean_failure(r, out, "good-0000.params", "fc_weight", "(3, 256)", "(3, 324)")


def test_truncated_params(files, tmp_path):
    bad = tmp_path / "cut-0000.params"
    data = (files / "good-0000.params").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    (tmp_path / "cut-symbol.json").write_text((files / "good-symbol.json").read_text())
    out = tmp_path / "o.onnx"
    r = convert(tmp_path, "cut-symbol.json", "cut-0000.params", out, "--inputShape", "3,8,8")
    assert_clean_failure(r, out, "cut-0000.params", "corrupt-model")


def test_garbage_symbol(files, tmp_path):
    (tmp_path / "junk-symbol.json").write_text(json.dumps({"hello": 1}))
    out = tmp_path / "o.onnx"
    r = run_cli(
        "convert", "-sf", "mxnet", "-in", tmp_path / "junk-symbol.json", "-iw", files / "good-0000.params",
        "-df", "onnx", "-om", out, "--inputShape", "3,8,8",
    )  # fmt: skip
    assert_clean_failure(r, out, "junk-symbol.json", "corrupt-model")

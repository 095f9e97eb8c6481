"""Bad input the runners see, each answered with the reference of the table that says what to do:
a folder where a model file is expected, ONNX external data outside the model's folder, Caffe input
sizes Caffe would abort on, MMdnn's --inputShape without the batch for CoreML and ONNX, a .tflite
that is not one, and no error naming mmbroker's temporary workspace."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers import assert_clean_failure, onnx_model, run_cli, with_external_data
from onnx import helper as h

from broker.errors import BrokerError
from runners.common.rpc import pb

pytestmark = pytest.mark.runner


def conv_model():
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    return onnx_model(
        [h.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])], [("x", [1, 3, 8, 8])], ["y"],
        [("w", w)],
    )  # fmt: skip


@pytest.fixture(scope="module")
def good_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.onnx"
    onnx.save(conv_model(), str(path))
    return path


@pytest.mark.parametrize(
    "framework, name", [("onnx", "model.onnx"), ("caffe", "net.prototxt"), ("mxnet", "net-symbol.json"),
                        ("cntk", "net.model")]
)  # fmt: skip
def test_a_folder_given_to_a_runner_is_not_a_file(session, env_or_skip, tmp_path, framework, name):
    """The broker refuses folders before a runner starts; a runner asked directly says the same."""
    env_or_skip(framework)
    folder = tmp_path / name
    folder.mkdir()
    weights = tmp_path / "net-0000.params"
    weights.write_bytes(b"x")
    sources = [str(folder)] + ([str(weights)] if framework == "mxnet" else [])
    req = pb.ParseRequest(sources=sources, workspace=str(tmp_path / "ws"), opset=18)
    with pytest.raises(BrokerError) as e:
        session.runner(framework).call("Parse", req)
    assert e.value.reference == "not-a-file", e.value
    assert name in str(e.value)


def test_external_data_outside_the_folder_is_not_read(env_or_skip, tmp_path):
    env_or_skip("onnx")
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.zeros(108, np.float32).tobytes())
    (tmp_path / "m").mkdir()
    src = tmp_path / "m" / "escape.onnx"
    src.write_bytes(with_external_data(conv_model(), "../secret.bin").SerializeToString())
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "error[unsafe-model]", "escape.onnx", "../secret.bin", "outside")
    assert "truncated" not in r.stderr


@pytest.mark.parametrize("dims", ["1 dim: 3 dim: 100000 dim: 100000", "1 dim: -3 dim: 8 dim: 8"])
def test_caffe_input_sizes_caffe_would_abort_on(env_or_skip, tmp_path, dims):
    env_or_skip("caffe")
    src = tmp_path / "net.prototxt"
    src.write_text(
        f'name: "N"\nlayer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: {dims} }} }} }}\n'
        'layer { name: "relu" type: "ReLU" bottom: "data" top: "r" }\n'
    )
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "caffe", "-in", src, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "error[bad-shape]", "net.prototxt", "input 'data'")


@pytest.mark.parametrize("framework", ["onnx", "coreml"])
def test_input_shape_without_the_batch(env_or_skip, tmp_path, good_onnx, framework):
    """MMdnn's --inputShape 3,8,8 leaves the batch free; a shape of the wrong rank is bad-shape naming the file."""
    env_or_skip(framework)
    src = good_onnx
    if framework == "coreml":
        src = tmp_path / "good.mlmodel"
        assert run_cli("convert", "-sf", "onnx", "-in", good_onnx, "-df", "coreml", "-om", src).exit_code == 0
    r = run_cli("convert", "-sf", framework, "-in", src, "-df", "onnx", "-om", tmp_path / "a.onnx",
                "--inputShape", "3,8,8")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    dims = onnx.load(str(tmp_path / "a.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1:] == [3, 8, 8] and dims[0].dim_param and not dims[0].dim_value
    out = tmp_path / "b.onnx"
    r = run_cli("convert", "-sf", framework, "-in", src, "-df", "onnx", "-om", out, "--inputShape", "8,8")
    assert_clean_failure(r, out, "error[bad-shape]", src.name, "4 dimensions")
    assert "internal-bug" not in r.stderr


def test_not_a_tflite_file(env_or_skip, tmp_path):
    env_or_skip("tensorflow")
    src = tmp_path / "random.tflite"
    src.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "tensorflow", "-in", src, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "error[corrupt-model]", "random.tflite", "TFL3")


def test_errors_name_the_users_file_not_the_workspace(env_or_skip, tmp_path):
    env_or_skip("onnx")
    env_or_skip("pytorch")
    src = tmp_path / "tfidf.onnx"
    nodes = [
        h.make_node("Cast", ["x"], ["ids"], to=onnx.TensorProto.INT64),
        h.make_node("TfIdfVectorizer", ["ids"], ["y"], name="tfidf", mode="TF", min_gram_length=1, max_gram_length=1,
                    max_skip_count=0, ngram_counts=[0], ngram_indexes=[0, 1], pool_int64s=[2, 3]),
    ]  # fmt: skip
    onnx.save(onnx_model(nodes, [("x", [2, 6])], ["y"]), str(src))
    out = tmp_path / "o.pth"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "pytorch", "-om", out)
    assert_clean_failure(r, out, "error[unsupported-op]", "tfidf.onnx", "TfIdfVectorizer")
    assert "mmbroker-work-" not in r.stderr

"""Remote runners without a runner: the --runner option and remote.toml, and the server's confinement
of every path in a request to the request's workspace (runners/common/remote.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broker.errors import BrokerError
from broker.remote import configured, parse_spec
from runners.common.errors import RunnerError
from runners.common.remote import Workspaces, localize, publish_response, resolve
from runners.common.rpc import pb

pytestmark = pytest.mark.unit


def test_runner_option_forms(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    spec = parse_spec("onnx=grpcs://gpu-host:7443", ca, None, None, False)
    assert (spec.framework, spec.host, spec.port, spec.tls, spec.ca) == ("onnx", "gpu-host", 7443, True, ca)
    assert parse_spec("onnx=grpcs://[::1]:7443", None, None, None, False).address == "[::1]:7443"
    assert parse_spec("onnx=grpc://127.0.0.1:1", None, None, None, True).tls is False
    assert parse_spec("keras=grpcs://h:1", None, None, None, False).framework == "tensorflow"  # runner names
    with pytest.raises(BrokerError):
        parse_spec("tensorflw=grpcs://h:1", None, None, None, False)


@pytest.mark.parametrize(
    "text, plaintext, words",
    [
        ("onnx", False, "FRAMEWORK=grpcs://HOST:PORT"),
        ("onnx=https://h:1", False, "FRAMEWORK=grpcs://HOST:PORT"),
        ("onnx=grpcs://h", False, "HOST:PORT"),
        ("onnx=grpc://127.0.0.1:7443", False, "--plaintext-loopback"),
        ("onnx=grpc://10.0.0.2:7443", True, "only to a loopback address"),
    ],
)
def test_bad_runner_options_are_refused(text, plaintext, words):
    with pytest.raises(BrokerError) as info:
        parse_spec(text, None, None, None, plaintext)
    assert info.value.reference == "bad-option" and words in str(info.value)


def test_a_missing_certificate_file_is_named(tmp_path):
    with pytest.raises(BrokerError) as info:
        parse_spec("onnx=grpcs://h:1", None, tmp_path / "me.pem", None, False)
    assert info.value.reference == "missing-file" and info.value.file.endswith("me.pem")


def test_config_file_and_options(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path))
    assert configured(None) == {}
    (tmp_path / "remote.toml").write_text('[runners.onnx]\naddress = "grpcs://a:1"\n[runners.caffe]\n'
                                          'address = "grpcs://old-host:2"\n')  # fmt: skip
    found = configured(["onnx=grpcs://b:3"])
    assert (found["onnx"].host, found["caffe"].host) == ("b", "old-host")  # the option wins
    (tmp_path / "remote.toml").write_text("[runners.onnx]\ntls_ca = 1\n")
    with pytest.raises(BrokerError) as info:
        configured(None)
    assert info.value.reference == "bad-option" and "address" in str(info.value)


def test_only_external_data_inside_the_model_folder_is_sent(tmp_path):
    import onnx
    from helpers import onnx_model, with_external_data

    from broker.remote import companions

    m = onnx_model([onnx.helper.make_node("Add", ["x", "w"], ["y"])], [("x", [2])], [("y", [2])], [("w", [1, 2])])
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").write_bytes(b"\0" * 8)
    (tmp_path / "secret.bin").write_bytes(b"\0" * 8)
    onnx.save(with_external_data(m, "w.bin", length=8), str(tmp_path / "m" / "ok.onnx"))
    onnx.save(with_external_data(m, "../secret.bin", length=8), str(tmp_path / "m" / "out.onnx"))
    onnx.save(with_external_data(m, str(tmp_path / "secret.bin"), length=8), str(tmp_path / "m" / "abs.onnx"))
    assert companions(tmp_path / "m" / "ok.onnx") == ["w.bin"]
    assert companions(tmp_path / "m" / "out.onnx") == companions(tmp_path / "m" / "abs.onnx") == []
    assert companions(tmp_path / "m" / "w.bin") == []


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "a/../../x", "..", "~root/x", "a\0b"])
def test_paths_leaving_the_workspace_are_refused(tmp_path, name):
    with pytest.raises(RunnerError) as info:
        resolve(str(tmp_path), name)
    assert info.value.reference == "unsafe-path"


def test_a_symbolic_link_out_of_the_workspace_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "out").symlink_to(tmp_path)
    assert resolve(str(ws), "a/./b.onnx") == str(ws.resolve() / "a" / "b.onnx")
    with pytest.raises(RunnerError):
        resolve(str(ws), "out/secret")


def test_requests_and_answers_are_translated_to_the_workspace(tmp_path):
    ws = str(tmp_path)
    req = pb.InferRequest(model=["model/0/m.onnx"], workspace="infer", inputs=[pb.Tensor(name="x", path="in/x.npy")])
    localize(req, ws)
    assert list(req.model) == [os.path.join(ws, "model", "0", "m.onnx")]
    assert req.inputs[0].path == os.path.join(ws, "in", "x.npy") and Path(req.workspace).is_dir()
    resp = publish_response(pb.InferResponse(outputs=[pb.Tensor(name="y", path=os.path.join(ws, "infer/y.npy"))]), ws)
    assert resp.outputs[0].path == "infer/y.npy"
    with pytest.raises(RunnerError):  # a runner never names a file outside the workspace to the broker
        publish_response(pb.SaveResponse(files=[pb.FileRef(path="/etc/passwd")]), ws)
    with pytest.raises(RunnerError):
        localize(pb.EmitRequest(out_dir="../up"), ws)


def test_workspace_limits(tmp_path):
    spaces = Workspaces(str(tmp_path), max_requests=1, max_bytes=10, ttl=0.0)
    a, b = "a" * 32, "b" * 32
    ws = spaces.enter(a)
    with pytest.raises(RunnerError) as info:
        spaces.enter(b)
    assert info.value.reference == "remote-busy"
    spaces.count(ws, 10)
    with pytest.raises(RunnerError) as info:
        spaces.count(ws, 1)
    assert info.value.reference == "remote-request-too-large"
    spaces.leave(a, end=False)
    assert os.path.isdir(ws.path)  # the step goes on
    spaces.reap()  # unused longer than the time to live
    assert not os.path.exists(ws.path) and spaces.enter(b)
    with pytest.raises(RunnerError) as info:
        spaces.enter("../../etc")
    assert info.value.reference == "bad-option"


@pytest.mark.parametrize("emit", ["ir_model", "write_ir_onnx"])
def test_emit_graph_naming_a_data_file_is_refused(tmp_path, emit):
    """An Emit request's graph whose Constant names an external data file (here the server's own
    file) is refused before anything reads it: IR values come from the weights .npz only (both
    ways an emitter makes an .onnx: the whole model, or the file written one weight at a time)."""
    import numpy as np
    import onnx
    from onnx import helper

    from runners.common import onnx_models

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype=np.float32).tobytes())
    value = onnx.TensorProto(name="c", data_type=onnx.TensorProto.FLOAT, dims=[4])
    value.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", str(secret)), ("length", "16")):
        entry = value.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value=value), helper.make_node("Add", ["x", "c"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    npz = tmp_path / "w.npz"
    np.savez(npz)
    out = tmp_path / "out.onnx"
    with pytest.raises(RunnerError) as err:
        if emit == "ir_model":
            onnx_models.ir_model(model.SerializeToString(), str(npz))
        else:
            onnx_models.write_ir_onnx(model.SerializeToString(), str(npz), str(out))
    assert err.value.reference == "unsafe-model" and "'c'" in err.value.message
    assert not out.exists()

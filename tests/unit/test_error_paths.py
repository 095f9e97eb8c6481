"""Bad files and options through the broker's own code paths (no runner): each gives the reference
of the table that says what to do, names the file, and shows no traceback."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers import onnx_model, run_cli, with_external_data
from onnx import helper as h

from broker.error_refs import REFERENCES
from broker.errors import BrokerError
from broker.ir import save_ir
from broker.ir.validate import check
from runners.common.rpc import pb

pytestmark = pytest.mark.unit


def conv_model():
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    return onnx_model(
        [h.make_node("Conv", ["x", "w"], ["c"], name="conv1"), h.make_node("Relu", ["c"], ["y"], name="relu1")],
        [("x", [1, 3, 8, 8])],
        ["y"],
        [("w", w)],
    )


def failed(r, reference, *words):
    assert r.exit_code == 1, (r.exit_code, r.stderr)
    assert "Traceback" not in r.stderr
    assert f"error[{reference}]" in r.stderr, r.stderr
    assert reference in REFERENCES
    for w in words:
        assert w in r.stderr, (w, r.stderr)


@pytest.mark.parametrize("command", ["info", "check"])
def test_op_type_that_is_not_text_is_a_corrupt_file(tmp_path, command):
    path = tmp_path / "bad.onnx"
    path.write_bytes(conv_model().SerializeToString().replace(b"Relu", b"R\xffl\xfe"))
    failed(run_cli("ir", command, path), "corrupt-model", "bad.onnx", "graph.node[1].op_type", "not UTF-8")
    stem = tmp_path / "ir"
    files = save_ir(conv_model(), stem)
    files.graph.write_bytes(files.graph.read_bytes().replace(b"Relu", b"\xc3\x28lu"))
    failed(run_cli("ir", command, files.graph), "corrupt-model", "ir.pb", "op_type")


def test_a_folder_given_as_a_model(tmp_path):
    (tmp_path / "m.onnx").mkdir()
    (tmp_path / "net").mkdir()
    failed(run_cli("ir", "info", tmp_path / "m.onnx"), "not-a-file", "m.onnx")
    failed(run_cli("ir", "check", tmp_path / "net"), "not-a-file", "net")
    out = tmp_path / "o.onnx"
    failed(run_cli("convert", "-sf", "onnx", "-in", tmp_path / "net", "-df", "onnx", "-om", out), "not-a-file", "net")
    assert not out.exists()


def test_external_data_out_of_the_folder_is_not_read(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.zeros(108, np.float32).tobytes())
    (tmp_path / "m").mkdir()
    path = tmp_path / "m" / "escape.onnx"
    path.write_bytes(with_external_data(conv_model(), "../secret.bin").SerializeToString())
    failed(run_cli("ir", "info", path), "unsafe-model", "escape.onnx", "../secret.bin", "outside")
    path.write_bytes(with_external_data(conv_model(), "gone.bin").SerializeToString())
    failed(run_cli("ir", "info", path), "missing-file", "gone.bin")
    (tmp_path / "m" / "short.bin").write_bytes(b"abc")
    path.write_bytes(with_external_data(conv_model(), "short.bin", length=432).SerializeToString())
    failed(run_cli("ir", "info", path), "corrupt-model", "short.bin", "holds 3 bytes")


def test_invalid_graph_blames_the_file_or_the_parser():
    model = conv_model()
    model.graph.node[1].input[0] = "nowhere"
    with pytest.raises(BrokerError) as given:
        check(model, "user.onnx")
    assert given.value.reference == "invalid-model" and given.value.file == "user.onnx"
    with pytest.raises(BrokerError) as parsed:
        check(model, "model.prototxt", made_by="the caffe parser")
    assert parsed.value.reference == "internal-bug" and "caffe" in parsed.value.hint


def test_an_exception_in_our_code_is_an_internal_bug(tmp_path, monkeypatch):
    from broker.cli import cmd_ir

    path = tmp_path / "m.onnx"
    onnx.save(conv_model(), str(path))

    def broken(model):
        raise KeyError("no such thing")

    monkeypatch.setattr(cmd_ir, "summarize", broken)
    r = run_cli("ir", "info", path)
    failed(r, "internal-bug", "KeyError", "--debug", "report")
    assert len(r.stderr.strip().splitlines()) == 2  # one line of error, one of hint
    r = run_cli("--debug", "ir", "info", path)
    assert "Traceback" in r.stderr and "no such thing" in r.stderr


def test_a_raise_without_hint_gets_the_table_hint():
    err = BrokerError("x", reference="missing-input-shape")
    assert err.hint == REFERENCES["missing-input-shape"].hint
    assert BrokerError("x").reference == "internal-bug"


def test_external_data_inside_the_folder_still_loads(tmp_path):
    onnx.save_model(conv_model(), str(tmp_path / "big.onnx"), save_as_external_data=True, location="big.data",
                    size_threshold=0)  # fmt: skip
    assert (tmp_path / "big.data").stat().st_size == 432
    r = run_cli("ir", "info", "--json", tmp_path / "big.onnx")
    assert r.exit_code == 0, r.stderr
    assert '"parameters": 108' in r.stdout


def test_a_runner_bug_names_the_runner_the_file_and_the_node():
    from runners.common.errors import InternalBug
    from runners.common.server import _request_file

    err = InternalBug(ZeroDivisionError("division by zero"), node="conv1", op="Conv", opset=18)
    err.framework = "caffe"  # set by the server when it catches the error
    err.file = _request_file(pb.ParseRequest(sources=["/m/net.prototxt", "/m/net.caffemodel"]))
    detail = err.to_proto()
    assert detail.reference == "internal-bug" and detail.node == "conv1" and detail.op == "Conv"
    assert "caffe runner failed: ZeroDivisionError: division by zero" in detail.message
    assert "bug in mmbroker's caffe runner" in detail.hint and "--debug" in detail.hint
    assert str(err).startswith("/m/net.prototxt: at node 'conv1' (Conv, opset 18)")
    assert _request_file(pb.InferRequest(model=["/m/a.onnx"])) == "/m/a.onnx"
    assert _request_file(pb.SaveRequest(output="/m/out.pth")) == "/m/out.pth"


def test_errors_about_the_workspace_name_the_users_model():
    from broker.pipeline import Session

    with pytest.raises(BrokerError) as e:
        with Session() as s:
            s._given_source = "models/net.prototxt"
            ir = s.ws / "ir" / "net.pb"
            raise BrokerError(f"at node 'fc': unsupported in {ir}", reference="unsupported-op", file=str(ir))
    assert e.value.reference == "unsupported-op" and e.value.file == "models/net.prototxt"
    assert "mmbroker-work-" not in str(e.value) and "<intermediate .pb of models/net.prototxt>" in e.value.message
    with pytest.raises(BrokerError) as e:  # a damaged file of our own making is our bug
        with Session() as s:
            s._given_source = "net.onnx"
            raise BrokerError("truncated", reference="corrupt-model", file=str(s.ws / "code" / "model.pth"))
    assert e.value.reference == "internal-bug" and e.value.file == "net.onnx"


def test_outputs_that_cannot_be_written_are_found_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    ir = save_ir(conv_model(), tmp_path / "ir" / "m")
    cases = [
        ("toir", "-f", "onnx", "-in", tmp_path / "missing-anyway.onnx", "-o", blocker / "ir" / "m"),
        ("tocode", "-f", "onnx", "-n", ir.graph, "-d", blocker / "code"),
        ("ir", "export-onnx", ir.graph, "-o", blocker / "m.onnx"),
    ]
    for args in cases:  # refused before the model is read or a runner starts
        failed(run_cli(*args), "output-not-writable", str(blocker))

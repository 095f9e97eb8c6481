"""Bad input through the real CLI and real runners: every error names the file (and node/op where
there is one), says what to do, shows no traceback, and leaves no output file behind."""

from __future__ import annotations

import os
import pickle
import time

import numpy as np
import pytest
from helpers import onnx_model, run_cli
from onnx import helper as h

from broker.errors import RunnerCrashed

pytestmark = pytest.mark.runner


def assert_clean_failure(r, out, *words):
    assert r.exit_code == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not out.exists(), "a failed conversion left an output file"
    assert not [p for p in out.parent.iterdir() if p.name.startswith("." + out.name)], "temporary file left"


@pytest.fixture(scope="module")
def good_onnx(tmp_path_factory):
    import onnx

    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    m = onnx_model(
        [h.make_node("Conv", ["x", "w"], ["y"], name="conv1", pads=[1, 1, 1, 1])],
        [("x", [1, 3, 8, 8])],
        ["y"],
        [("w", w)],
    )
    path = tmp_path_factory.mktemp("good") / "good.onnx"
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("dst", ["onnx", "pytorch"])
def test_truncated_onnx(tmp_path, good_onnx, dst):
    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(good_onnx.read_bytes()[: good_onnx.stat().st_size // 2])
    out = tmp_path / ("o.onnx" if dst == "onnx" else "o.pth")
    r = run_cli("convert", "-sf", "onnx", "-in", bad, "-df", dst, "-om", out)
    assert_clean_failure(r, out, "truncated.onnx", "corrupt-model")


def test_garbage_onnx(tmp_path):
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(os.urandom(2000))
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "onnx", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "garbage.onnx")


def test_truncated_pt2(tmp_path, zoo):
    src = zoo["resnet"]["dir"] / "resnet.pt2"
    bad = tmp_path / "truncated.pt2"
    bad.write_bytes(src.read_bytes()[:5000])
    out = tmp_path / "o.onnx"
    r = run_cli("convert", "-sf", "pytorch", "-in", bad, "-df", "onnx", "-om", out)
    assert_clean_failure(r, out, "truncated.pt2", "corrupt-model")


def test_corrupt_pth(tmp_path, zoo):
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(3000))
    out = tmp_path / "o.onnx"
    r = convert_state_dict(bad, zoo, out)
    assert_clean_failure(r, out, "corrupt.pth", "corrupt-model")


def convert_state_dict(pth, zoo, out):
    """`mmbroker convert` of a state_dict .pth with the zoo's ResNet class file, to ONNX."""
    class_file = zoo["resnet"]["dir"] / "resnet_class.py"
    return run_cli("convert", "-sf", "pytorch", "-in", pth, "-in", class_file, "--class", "TinyResNet",
                   "--inputShape", "1,3,32,32", "-df", "onnx", "-om", out)  # fmt: skip


class _Payload:
    """Unpickling this runs a shell command: what a malicious .pth does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused_and_does_not_run(tmp_path, zoo):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"conv.weight": _Payload(marker)}, f)
    out = tmp_path / "o.onnx"
    r = convert_state_dict(evil, zoo, out)
    assert_clean_failure(r, out, "evil.pth", "unsafe-model", "--trust-model")
    time.sleep(0.5)
    assert not marker.exists(), "the pickle's code ran"


def test_unsupported_ops_are_all_listed(tmp_path):
    import onnx

    # TfIdfVectorizer: an ONNX op no torch call computes (the emitter refuses it)
    def tfidf(x, y, name):
        return h.make_node("TfIdfVectorizer", [x], [y], name=name, mode="TF", min_gram_length=2,
                           max_gram_length=2, max_skip_count=0, ngram_counts=[0, 4],
                           ngram_indexes=[0, 1, 2, 3, 4, 5, 6], pool_int64s=[2, 3, 5, 4, 5, 6, 7, 8, 6, 7])  # fmt: skip

    m = onnx_model(
        [
            h.make_node("Cast", ["x"], ["ids"], name="cast1", to=onnx.TensorProto.INT64),
            tfidf("ids", "a", "tfidf1"),
            h.make_node("Abs", ["ids"], ["r"], name="abs1"),
            tfidf("r", "b", "tfidf2"),
            h.make_node("Add", ["a", "b"], ["y"], name="add1"),
        ],
        [("x", [2, 6])],
        [("y", [2, 7])],
    )
    src = tmp_path / "odd.onnx"
    onnx.save(m, str(src))
    out = tmp_path / "odd.pth"
    r = run_cli("convert", "-sf", "onnx", "-in", src, "-df", "pytorch", "-om", out)
    assert_clean_failure(r, out, "unsupported-op", "tfidf1", "tfidf2", "TfIdfVectorizer")
    assert "abs1" not in r.stderr


def test_wrong_input_shape_at_infer(tmp_path, good_onnx):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 4, 8, 8), np.float32))
    r = run_cli("infer", good_onnx, "--input", x)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "bad-shape" in r.stderr and "[1, 3, 8, 8]" in r.stderr and "[1, 4, 8, 8]" in r.stderr


def test_wrong_input_shape_at_infer_pytorch(session, tmp_path, zoo):
    from broker.errors import BrokerError

    with pytest.raises(BrokerError) as e:
        session.infer("pytorch", [str(zoo["resnet"]["dir"] / "resnet.pt2")], {"x": np.zeros((1, 3, 8), np.float32)})
    assert e.value.reference == "bad-input"


def test_runner_killed_mid_call_is_reported(tmp_path, env_for):
    """A real runner killed during a call: a clear error within the deadline, not a hang."""
    import threading

    import onnx

    from broker.supervisor import RunnerProcess
    from runners.common.rpc import pb
    from runners.common.tensors import to_proto

    # a model big enough that Infer takes a while: a chain of large matmuls
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i in range(40):
        inits.append((f"w{i}", rng.standard_normal((1024, 1024)).astype(np.float32) * 0.03))
        nodes.append(h.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]))
        prev = f"m{i}"
    nodes.append(h.make_node("Identity", [prev], ["y"]))
    path = tmp_path / "slow.onnx"
    onnx.save(onnx_model(nodes, [("x", [2048, 1024])], ["y"], inits), str(path))
    handle = env_for("onnx")
    with RunnerProcess("onnx", handle.python, env=handle.env_vars, call_timeout=60) as r:
        pid = r.proc.pid
        threading.Timer(1.5, lambda: os.kill(pid, 9)).start()
        t0 = time.monotonic()
        with pytest.raises(RunnerCrashed) as e:
            for _ in range(50):
                r.call(
                    "Infer",
                    pb.InferRequest(model=[str(path)], inputs=[to_proto("x", np.ones((2048, 1024), np.float32))]),
                )
        assert time.monotonic() - t0 < 30
        assert "onnx runner" in str(e.value) and ("died" in str(e.value) or "not running" in str(e.value))

"""Remote runners over mutual TLS (runners/common/remote.py, broker/remote.py), with the real ONNX
runner served on 127.0.0.1 by `mmbroker runner serve` and certificates made by trustme.

A conversion goes through it; clients without a certificate, with one from another CA, and in
plaintext are refused with errors that say so; a path in a request that leaves its workspace is
refused; a large file goes up and down with both processes' peak memory far below its size."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from processes import wait_for
from remote_serve import make_certs, serve

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]
trustme = pytest.importorskip("trustme")
needs_linux = pytest.mark.skipif(not Path("/proc").is_dir(), reason="peak memory is read from Linux /proc")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(certs, env_or_skip, tmp_path_factory):
    env_or_skip("onnx")
    served = serve(certs, tmp_path_factory.mktemp("serve") / "serve.log")
    yield served
    served.stop()
    assert served.proc.returncode == 0
    assert not served.root.exists()  # its folder goes with it


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import numpy as np
    import onnx
    from helpers import onnx_model

    rng = np.random.default_rng(0)
    m = onnx_model(
        [
            onnx.helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
            onnx.helper.make_node("Add", ["h", "b"], ["y"], name="add"),
        ],
        [("x", [2, 8])],
        [("y", [2, 4])],
        [("w", rng.standard_normal((8, 4))), ("b", rng.standard_normal(4))],
    )
    path = tmp_path_factory.mktemp("model") / "m.onnx"
    onnx.save(m, str(path))
    return path


def _tls(certs: Path, who: str = "client") -> list[str]:
    found = ["--tls-ca", str(certs / "ca.pem")]
    return found + (["--tls-cert", str(certs / f"{who}.pem"), "--tls-key", str(certs / f"{who}.key")] if who else [])


def _convert(model: Path, out: Path, runner: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *CLI,
            "convert",
            "-sf",
            "onnx",
            "-in",
            str(model),
            "-df",
            "onnx",
            "-om",
            str(out),
            "--runner",
            runner,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.runner
def test_conversion_through_a_remote_onnx_runner(server, certs, model, tmp_path):
    port = server.port
    out = tmp_path / "out" / "m.onnx"
    r = _convert(model, out, f"onnx=grpcs://127.0.0.1:{port}", *_tls(certs))
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["output"] == [str(out.resolve())] or result["output"] == [str(out)]
    assert out.is_file() and out.stat().st_size > 0
    parity = result["parity"]
    assert parity["passed"] is True
    assert f"remote onnx runner at 127.0.0.1:{port}" in parity["candidate_engine"]
    assert "onnxruntime" in parity["candidate_engine"]
    assert [p.name for p in out.parent.iterdir()] == ["m.onnx"]  # no part file left beside it
    assert server.workspaces() == []  # each request's workspace is gone


@pytest.mark.runner
def test_an_onnx_source_with_external_data_takes_its_data_file_along(server, certs, model, tmp_path):
    import onnx

    src = tmp_path / "src"
    src.mkdir()
    m = onnx.load(str(model))
    onnx.save(m, str(src / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.data", size_threshold=0)  # fmt: skip
    assert (src / "ext.data").stat().st_size == (8 * 4 + 4) * 4  # the weights are in the data file
    out = tmp_path / "out.onnx"
    r = _convert(src / "ext.onnx", out, f"onnx=grpcs://127.0.0.1:{server.port}", *_tls(certs))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["parity"]["passed"] is True


@pytest.mark.runner
def test_pytorch_to_onnx_with_the_target_runner_remote(server, certs, env_or_skip, tmp_path):
    env_or_skip("pytorch")
    out = tmp_path / "tiny_resnet.onnx"
    r = subprocess.run(
        [*CLI, "convert", "-sf", "pytorch", "-in", str(ROOT / "examples" / "tiny_resnet.pt2"), "-df", "onnx",
         "-om", str(out), "--runner", f"onnx=grpcs://127.0.0.1:{server.port}", *_tls(certs), "--json"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    parity = json.loads(r.stdout)["parity"]
    assert parity["passed"] is True
    assert "remote" not in parity["reference_engine"] and "torch" in parity["reference_engine"]
    assert f"remote onnx runner at 127.0.0.1:{server.port}" in parity["candidate_engine"]
    assert out.is_file() and server.workspaces() == []


@pytest.mark.runner
def test_infer_through_the_remote_runner_named_in_the_config_file(server, certs, model, tmp_path):
    """$MMBROKER_HOME/remote.toml instead of options; no local onnx environment is needed."""
    import numpy as np

    home = tmp_path / "home"
    home.mkdir()
    (home / "remote.toml").write_text(
        f'[runners.onnx]\naddress = "grpcs://127.0.0.1:{server.port}"\ntls_ca = "{certs / "ca.pem"}"\n'
        f'tls_cert = "{certs / "client.pem"}"\ntls_key = "{certs / "client.key"}"\n'
    )
    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run(
        [*CLI, "infer", str(model), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "y.npz"), "--json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "MMBROKER_HOME": str(home)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"remote onnx runner at 127.0.0.1:{server.port}" in json.loads(r.stdout)["engine"]
    import onnx

    m = onnx.load(str(model))
    w, b = (onnx.numpy_helper.to_array(t) for t in m.graph.initializer)
    np.testing.assert_allclose(np.load(tmp_path / "y.npz")["y"], x @ w + b, rtol=1e-5, atol=1e-5)
    assert not (home / "envs").exists()


@pytest.mark.runner
@pytest.mark.parametrize(
    "who, words",
    [
        ("", ["requires a client certificate"]),
        ("stranger", ["rejected this client's certificate", "stranger.pem"]),
    ],
)
def test_clients_the_server_does_not_trust_are_refused(server, certs, model, tmp_path, who, words):
    port = server.port
    r = _convert(model, tmp_path / "m.onnx", f"onnx=grpcs://127.0.0.1:{port}", *_tls(certs, who))
    assert r.returncode != 0
    assert "remote-tls-refused" in r.stderr and f"127.0.0.1:{port}" in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.runner
def test_a_plaintext_client_is_refused(server, model, tmp_path):
    port = server.port
    r = _convert(model, tmp_path / "m.onnx", f"onnx=grpc://127.0.0.1:{port}", "--plaintext-loopback")
    assert r.returncode != 0
    assert "remote-tls-refused" in r.stderr and "refused a plaintext connection" in r.stderr, r.stderr


@pytest.mark.runner
def test_a_server_certificate_from_another_ca_is_rejected_by_the_client(server, certs, model, tmp_path):
    port = server.port
    r = _convert(
        model,
        tmp_path / "m.onnx",
        f"onnx=grpcs://127.0.0.1:{port}",
        "--tls-ca",
        str(certs / "stranger.pem"),
        "--tls-cert",
        str(certs / "client.pem"),
        "--tls-key",
        str(certs / "client.key"),
    )
    assert r.returncode != 0
    assert "this client rejected the server's certificate" in r.stderr, r.stderr


@pytest.mark.unit
def test_nothing_listening_is_connection_refused(certs, model, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _convert(model, tmp_path / "m.onnx", f"onnx=grpcs://127.0.0.1:{port}", *_tls(certs))
    assert r.returncode != 0
    assert "remote-unreachable" in r.stderr and "connection refused" in r.stderr, r.stderr


def _stub(certs: Path, port: int):
    import grpc

    from runners.common import rpc

    creds = grpc.ssl_channel_credentials(
        (certs / "ca.pem").read_bytes(), (certs / "client.key").read_bytes(), (certs / "client.pem").read_bytes()
    )
    return rpc.Stub(grpc.secure_channel(f"127.0.0.1:{port}", creds, options=rpc.GRPC_OPTIONS))


def _refusal(err) -> str:
    from runners.common import rpc

    for key, value in err.trailing_metadata() or ():
        if key == rpc.ERROR_METADATA_KEY:
            return rpc.pb.ErrorDetail.FromString(value).reference
    return ""


@pytest.mark.runner
@pytest.mark.parametrize("name", ["../escape.onnx", "/etc/passwd", "a/../../escape.onnx", "src/../../escape.onnx"])
def test_a_path_leaving_the_workspace_is_refused(server, certs, name):
    import grpc

    from runners.common.remote import WORKSPACE_END_KEY, WORKSPACE_KEY
    from runners.common.rpc import pb

    stub = _stub(certs, server.port)
    meta = [(WORKSPACE_KEY, secrets.token_hex(16))]
    calls = [
        lambda: stub.Upload(iter([pb.Chunk(name=name, offset=0, data=b"x", last=True)]), timeout=30, metadata=meta),
        lambda: list(stub.Download(pb.FileRef(path=name), timeout=30, metadata=meta)),
        lambda: stub.Parse(pb.ParseRequest(sources=[name], opset=18), timeout=30, metadata=meta),
        lambda: stub.Infer(pb.InferRequest(model=["m.onnx"], workspace=name), timeout=30, metadata=meta),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert _refusal(info.value) == "unsafe-path"
        assert name in info.value.details()
    list(stub.Download(pb.FileRef(path=""), timeout=30, metadata=[*meta, (WORKSPACE_END_KEY, "1")]))
    assert not list(server.root.rglob("escape.onnx")) and not (server.root.parent / "escape.onnx").exists()
    assert server.workspaces() == []


@pytest.mark.runner
def test_requests_without_a_workspace_and_shutdown_are_refused(server, certs):
    import grpc

    from runners.common.rpc import pb

    port = server.port
    stub = _stub(certs, port)
    with pytest.raises(grpc.RpcError) as info:
        stub.Parse(pb.ParseRequest(sources=["m.onnx"]), timeout=30)
    assert _refusal(info.value) == "bad-option"
    with pytest.raises(grpc.RpcError) as info:
        stub.Shutdown(pb.ShutdownRequest(), timeout=30)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stub.Describe(pb.DescribeRequest(), timeout=30).framework == "onnx"  # still serving


@pytest.mark.runner
def test_another_protocol_version_is_refused(server, certs):
    import grpc

    from runners.common.remote import PROTOCOL_KEY, WORKSPACE_KEY
    from runners.common.rpc import pb

    stub = _stub(certs, server.port)
    with pytest.raises(grpc.RpcError) as info:
        stub.Parse(pb.ParseRequest(sources=["m.onnx"]), timeout=30,
                   metadata=[(WORKSPACE_KEY, secrets.token_hex(16)), (PROTOCOL_KEY, "99")])  # fmt: skip
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert _refusal(info.value) == "runner-protocol-mismatch" and "protocol 1, the broker 99" in info.value.details()


@pytest.fixture
def small_server(certs, env_or_skip, tmp_path):
    """A runner that serves one request at a time, of at most 1 MB."""
    env_or_skip("onnx")
    served = serve(certs, tmp_path / "serve.log", "--max-requests", "1", "--max-request-mb", "1")
    yield served
    served.stop()


@pytest.mark.runner
def test_request_size_and_concurrency_are_limited(small_server, certs):
    import grpc

    from runners.common.remote import WORKSPACE_END_KEY, WORKSPACE_KEY
    from runners.common.rpc import pb

    stub = _stub(certs, small_server.port)
    first, second = [(WORKSPACE_KEY, secrets.token_hex(16))], [(WORKSPACE_KEY, secrets.token_hex(16))]
    chunks = [pb.Chunk(name="big.npz", offset=i << 18, data=b"x" * (1 << 18)) for i in range(5)]
    with pytest.raises(grpc.RpcError) as info:
        stub.Upload(iter(chunks), timeout=30, metadata=first)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _refusal(info.value) == "remote-request-too-large"
    assert not list(small_server.root.rglob("big.npz*"))  # the part received is removed
    with pytest.raises(grpc.RpcError) as info:  # the first request's workspace is still open
        stub.Upload(iter(chunks[:1]), timeout=30, metadata=second)
    assert _refusal(info.value) == "remote-busy"
    list(stub.Download(pb.FileRef(path=""), timeout=30, metadata=[*first, (WORKSPACE_END_KEY, "1")]))
    assert stub.Upload(iter(chunks[:1]), timeout=30, metadata=second).size == 1 << 18
    list(stub.Download(pb.FileRef(path=""), timeout=30, metadata=[*second, (WORKSPACE_END_KEY, "1")]))
    assert small_server.workspaces() == []


@pytest.mark.runner
def test_a_remote_runner_that_dies_mid_call_is_reported(certs, env_or_skip, model, tmp_path):
    env_or_skip("onnx")
    served = serve(certs, tmp_path / "serve.log", env={"MMBROKER_TEST_HANG": "parse"})
    try:
        convert = subprocess.Popen(
            [*CLI, "convert", "-sf", "onnx", "-in", str(model), "-df", "onnx", "-om", str(tmp_path / "m.onnx"),
             "--runner", f"onnx=grpcs://127.0.0.1:{served.port}", *_tls(certs)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert wait_for(lambda: "MMBROKER_TEST_HANG" in served.log.read_text(), 120)
        os.killpg(served.pid, signal.SIGKILL)
        _, err = convert.communicate(timeout=120)
    finally:
        served.stop()
        subprocess.run(["rm", "-rf", str(served.root)], check=False)
    assert convert.returncode != 0
    assert "runner-crashed" in err and f"127.0.0.1:{served.port} went away during Parse" in err, err
    assert not (tmp_path / "m.onnx").exists()


# -- a large file, up and down, in bounded memory ----------------------------------------------
_CLIENT = textwrap.dedent("""
    import resource, secrets, sys
    from pathlib import Path
    from broker.remote import RemoteRunner, RemoteSpec, _Step
    certs, port = Path(sys.argv[1]), int(sys.argv[2])
    spec = RemoteSpec("onnx", "127.0.0.1", port, True, certs / "ca.pem", certs / "client.pem", certs / "client.key")
    runner = RemoteRunner(spec).start()

    def there_and_back(src, back):
        step = _Step(runner, secrets.token_hex(16), 1200)
        name = runner.upload(Path(src), "big/" + Path(src).name, step.metadata(), 1200)
        runner.download(name, Path(back), step.metadata(), 1200)
        step.end()

    there_and_back(sys.argv[3], sys.argv[4])  # a small file first: what any transfer costs once is paid
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
    sys.stdin.readline()  # the test reads the server's peak now
    there_and_back(sys.argv[5], sys.argv[6])
    runner.stop()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
""")


def _peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _transfer(server, certs, tmp_path, size_mb: int) -> None:
    proc, port = server.proc, server.port
    files = {}
    for name, mb in (("warm.npz", 8), ("weights.npz", size_mb)):
        block = os.urandom(1 << 20)
        files[name] = (tmp_path / name, tmp_path / "back" / name)
        with open(files[name][0], "wb") as f:
            for i in range(mb):
                f.write(i.to_bytes(8, "little") + block[8:])
    (src, back), size = files["weights.npz"], files["weights.npz"][0].stat().st_size
    client = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, str(certs), str(port), *map(str, files["warm.npz"]), str(src), str(back)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        client_base = int(client.stdout.readline() or 0)
        server_base = _peak(proc.pid)
        client.stdin.write("go\n")
        client.stdin.flush()
        out, err = client.communicate(timeout=1800)
    finally:
        client.kill()
    assert client.returncode == 0 and client_base, err
    client_peak, server_peak = int(out), _peak(proc.pid)
    assert back.stat().st_size == size
    with open(src, "rb") as a, open(back, "rb") as b:  # the same bytes came back (also sha256-checked)
        while block := a.read(1 << 24):
            assert block == b.read(1 << 24)
    # neither side ever held the file: their peaks grow by far less than its size
    assert client_peak - client_base < size // 8, (client_base, client_peak)
    assert server_peak - server_base < size // 8, (server_base, server_peak)


@needs_linux
@pytest.mark.runner
def test_a_100_mb_transfer_keeps_memory_bounded(server, certs, tmp_path):
    _transfer(server, certs, tmp_path, 100)


@needs_linux
@pytest.mark.slow  # not `runner`: CI (-m 'runner or parity') leaves it out
def test_a_1_gb_transfer_keeps_memory_bounded(server, certs, tmp_path):
    _transfer(server, certs, tmp_path, 1024)

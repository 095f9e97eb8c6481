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

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]
trustme = pytest.importorskip("trustme")
needs_linux = pytest.mark.skipif(not Path("/proc").is_dir(), reason="peak memory is read from Linux /proc")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA with a server certificate for 127.0.0.1 and a client certificate, and a client
    certificate from another CA."""
    out = tmp_path_factory.mktemp("certs")
    ca, other = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(out / "ca.pem"))
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(out / "server.key"))
    server.cert_chain_pems[0].write_to_path(str(out / "server.pem"))
    for name, issuer in (("client", ca), ("stranger", other)):
        leaf = issuer.issue_cert(f"{name}@mmbroker.test")
        leaf.private_key_pem.write_to_path(str(out / f"{name}.key"))
        leaf.cert_chain_pems[0].write_to_path(str(out / f"{name}.pem"))
    return out


@pytest.fixture(scope="module")
def server(certs, env_or_skip):
    """`mmbroker runner serve onnx` on a free port of 127.0.0.1: (process, port)."""
    env_or_skip("onnx")
    proc = subprocess.Popen(
        [
            *CLI,
            "runner",
            "serve",
            "onnx",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            str(certs / "server.pem"),
            "--tls-key",
            str(certs / "server.key"),
            "--client-ca",
            str(certs / "ca.pem"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("MMBROKER|1|tcp|"):
        proc.kill()
        pytest.fail(f"no handshake from runner serve: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    yield proc, int(line.strip().rpartition(":")[2])
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


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
    _, port = server
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


@pytest.mark.runner
@pytest.mark.parametrize(
    "who, words",
    [
        ("", ["requires a client certificate"]),
        ("stranger", ["rejected this client's certificate", "stranger.pem"]),
    ],
)
def test_clients_the_server_does_not_trust_are_refused(server, certs, model, tmp_path, who, words):
    _, port = server
    r = _convert(model, tmp_path / "m.onnx", f"onnx=grpcs://127.0.0.1:{port}", *_tls(certs, who))
    assert r.returncode != 0
    assert "remote-tls-refused" in r.stderr and f"127.0.0.1:{port}" in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.runner
def test_a_plaintext_client_is_refused(server, model, tmp_path):
    _, port = server
    r = _convert(model, tmp_path / "m.onnx", f"onnx=grpc://127.0.0.1:{port}", "--plaintext-loopback")
    assert r.returncode != 0
    assert "remote-tls-refused" in r.stderr and "refused a plaintext connection" in r.stderr, r.stderr


@pytest.mark.runner
def test_a_server_certificate_from_another_ca_is_rejected_by_the_client(server, certs, model, tmp_path):
    _, port = server
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

    proc, port = server
    stub = _stub(certs, port)
    meta = [(WORKSPACE_KEY, secrets.token_hex(16))]
    root = Path(f"/proc/{proc.pid}/cwd")  # nothing is written beside the server's folders either
    before = set(os.listdir(root)) if root.exists() else set()
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
    assert not (root / "escape.onnx").exists() and (set(os.listdir(root)) if root.exists() else set()) == before


@pytest.mark.runner
def test_requests_without_a_workspace_and_shutdown_are_refused(server, certs):
    import grpc

    from runners.common.rpc import pb

    _, port = server
    stub = _stub(certs, port)
    with pytest.raises(grpc.RpcError) as info:
        stub.Parse(pb.ParseRequest(sources=["m.onnx"]), timeout=30)
    assert _refusal(info.value) == "bad-option"
    with pytest.raises(grpc.RpcError) as info:
        stub.Shutdown(pb.ShutdownRequest(), timeout=30)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stub.Describe(pb.DescribeRequest(), timeout=30).framework == "onnx"  # still serving


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
    proc, port = server
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

"""A remote runner for tests: certificates made by trustme (a CA with a server certificate for
127.0.0.1 and a client certificate, and a client certificate from another CA), and the real ONNX
runner served on a free port of 127.0.0.1 by `mmbroker runner serve`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from broker.cli import main; main()"]


def make_certs(out: Path) -> Path:
    """ca.pem, server.pem/.key (127.0.0.1), client.pem/.key, and stranger.pem/.key from another CA."""
    trustme = pytest.importorskip("trustme")
    out.mkdir(parents=True, exist_ok=True)
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


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    root: Path  # its folder: request workspaces under requests/
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def workspaces(self) -> list[str]:
        return sorted(os.listdir(self.root / "requests"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def serve(certs: Path, log: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
    """`mmbroker runner serve onnx` on a free port of 127.0.0.1 (port 0: its handshake line says which)."""
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [*CLI, "runner", "serve", "onnx", "--listen", "127.0.0.1:0", "--tls-cert", str(certs / "server.pem"),
             "--tls-key", str(certs / "server.key"), "--client-ca", str(certs / "ca.pem"), *extra],
            stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True, env={**os.environ, **(env or {})},
        )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("MMBROKER|1|tcp|"):
        proc.kill()
        pytest.fail(f"no handshake from runner serve: {line!r} {log.read_text()}")
    found = re.search(r"serving mutual TLS on \S+ \((.+)\)", log.read_text())
    assert found, log.read_text()
    return Served(proc, int(line.strip().rpartition(":")[2]), Path(found.group(1)), log)

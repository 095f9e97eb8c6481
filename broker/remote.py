"""Runners on other hosts: `--runner FRAMEWORK=grpcs://HOST:PORT` with `--tls-ca/--tls-cert/--tls-key`,
or the same in `$MMBROKER_HOME/remote.toml`:

    [runners.onnx]
    address = "grpcs://gpu-host:7443"
    tls_ca = "/path/ca.pem"
    tls_cert = "/path/client.pem"
    tls_key = "/path/client.key"

The host runs `mmbroker runner serve FRAMEWORK --listen ...` (runners/common/remote.py). A
RemoteRunner stands in for a runner process in a Session: each step (Parse, Emit, Save, Infer)
gets a workspace of its own on the remote side, named by a random token; the step's files are
uploaded into it in chunks (read as they are sent, with their sha256 compared with the server's),
the call names them by their place in it, the files the answer names are downloaded beside where
the local runner would have written them (sha256 checked), and the workspace is ended.

Before the first call the connection is tried with Python's ssl module, which says exactly what
failed, on which side: nothing listening, the server's certificate rejected by this client (and
why), this client's certificate rejected by the server (none given, another CA), a server without
TLS, or a TLS server asked in plaintext. gRPC itself reports all of these as "unavailable".
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import ssl
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from runners.common import rpc, tensors
from runners.common.remote import (
    CHUNK,
    DIGEST_KEY,
    PROTOCOL_KEY,
    TRANSFER_OPTIONS,
    WORKSPACE_END_KEY,
    WORKSPACE_KEY,
    is_loopback,
    parse_listen,
)
from runners.common.rpc import pb

from . import paths
from .errors import BrokerError, RunnerCrashed
from .frameworks import runner_name
from .supervisor import CALL_TIMEOUT, RunnerProcess

CONFIG_NAME = "remote.toml"
CONNECT_TIMEOUT = 10.0
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS


@dataclass(frozen=True)
class RemoteSpec:
    framework: str
    host: str
    port: int
    tls: bool = True
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def where(self) -> str:
        return f"the remote {self.framework} runner at {self.address}"


def _bad(message: str, hint: str) -> BrokerError:
    return BrokerError(message, reference="bad-option", hint=hint)


def parse_spec(text: str, ca: Path | None, cert: Path | None, key: Path | None, plaintext: bool) -> RemoteSpec:
    """`FRAMEWORK=grpcs://HOST:PORT` (or `grpc://` on loopback with --plaintext-loopback)."""
    framework, sep, url = text.partition("=")
    scheme, _, address = url.partition("://")
    if not sep or not framework or scheme not in ("grpcs", "grpc") or not address:
        raise _bad(
            f"--runner takes FRAMEWORK=grpcs://HOST:PORT, not {text!r}",
            "e.g. --runner onnx=grpcs://gpu-host:7443 --tls-ca ca.pem --tls-cert me.pem --tls-key me.key",
        )
    try:
        host, port = parse_listen(address.rstrip("/"))
    except ValueError as exc:
        raise _bad(f"--runner {text}: {exc}", "give the port the remote runner listens on") from None
    if scheme == "grpc" and not (plaintext and is_loopback(host)):
        raise _bad(
            f"--runner {text}: plaintext gRPC is allowed only to a loopback address with --plaintext-loopback",
            "use grpcs:// with --tls-ca, --tls-cert and --tls-key",
        )
    for opt, value in (("--tls-ca", ca), ("--tls-cert", cert), ("--tls-key", key)):
        if value is not None and not value.is_file():
            raise BrokerError(
                f"{opt}: file not found",
                reference="missing-file",
                file=str(value),
                hint="give the PEM file of the certificate or key",
            )
    return RemoteSpec(runner_name(framework), host, port, scheme == "grpcs", ca, cert, key)


def configured(
    given: list[str] | None,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    plaintext: bool = False,
) -> dict[str, RemoteSpec]:
    """The remote runners of a command: those of `$MMBROKER_HOME/remote.toml`, then the --runner options."""
    found: dict[str, RemoteSpec] = {}
    config = paths.home() / CONFIG_NAME
    if config.is_file():
        try:
            data = tomllib.loads(config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BrokerError(
                f"cannot read it: {exc}",
                reference="bad-option",
                file=str(config),
                hint="fix the TOML syntax; see the README's section on remote runners",
            ) from None
        for fw, entry in (data.get("runners") or {}).items():
            if not isinstance(entry, dict) or "address" not in entry:
                raise BrokerError(
                    f"[runners.{fw}] needs an address",
                    reference="bad-option",
                    file=str(config),
                    hint='address = "grpcs://HOST:PORT", with tls_ca, tls_cert, tls_key',
                )

            def path(name: str, entry: dict[str, Any] = entry) -> Path | None:
                return Path(entry[name]).expanduser() if entry.get(name) else None

            spec = parse_spec(
                f"{fw}={entry['address']}",
                path("tls_ca"),
                path("tls_cert"),
                path("tls_key"),
                bool(entry.get("plaintext_loopback")),
            )
            found[spec.framework] = spec
    for text in given or []:
        spec = parse_spec(text, ca, cert, key, plaintext)
        found[spec.framework] = spec
    return found


# -- the connection, tried first with ssl for a precise error ----------------------------------
_PEER_REJECTED = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "it requires a client certificate and none was given "
    "(--tls-cert and --tls-key)",
    "TLSV1_ALERT_UNKNOWN_CA": "it is not signed by the CA the server trusts (its --client-ca)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server found it bad (not signed by its --client-ca, or not for a client)",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "it has expired",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the server does not accept it",
    "TLSV1_ALERT_DECRYPT_ERROR": "it does not match its key",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server refused the handshake",
}


def _tls_error(spec: RemoteSpec, message: str, hint: str) -> BrokerError:
    return BrokerError(f"{spec.where}: {message}", reference="remote-tls-refused", framework=spec.framework, hint=hint)


def preflight(spec: RemoteSpec, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect once with plain sockets and ssl, to name what fails and on which side."""
    try:
        sock = socket.create_connection((spec.host, spec.port), timeout=timeout)
    except ConnectionRefusedError:
        raise BrokerError(
            f"connection refused by {spec.address}: nothing listens there",
            reference="remote-unreachable",
            framework=spec.framework,
            hint=f"start it on that host: mmbroker runner serve {spec.framework} --listen "
            f"HOST:{spec.port} --tls-cert ... --tls-key ... --client-ca ...",
        ) from None
    except OSError as exc:
        raise BrokerError(
            f"cannot connect to {spec.address}: {exc.strerror or exc}",
            reference="remote-unreachable",
            framework=spec.framework,
            hint="check the host name, the port and the network",
        ) from None
    with sock:
        if not spec.tls:
            _plaintext_probe(spec, sock)
            return
        ctx = ssl.create_default_context(cafile=str(spec.ca) if spec.ca else None)
        ctx.set_alpn_protocols(["h2"])
        if spec.cert is not None:
            try:
                ctx.load_cert_chain(str(spec.cert), str(spec.key) if spec.key else None)
            except (ssl.SSLError, OSError) as exc:
                raise BrokerError(
                    f"cannot load this client's certificate {spec.cert} with key {spec.key}: {exc}",
                    reference="remote-tls-refused",
                    file=str(spec.cert),
                    hint="give the PEM certificate and its matching private key",
                ) from None
        try:
            tls = ctx.wrap_socket(sock, server_hostname=spec.host)
        except ssl.SSLCertVerificationError as exc:
            raise _tls_error(
                spec,
                f"this client rejected the server's certificate: {exc.verify_message}",
                f"the server's certificate must be signed by the CA given with --tls-ca ({spec.ca}) "
                f"and name the host {spec.host}",
            ) from None
        except ssl.SSLError as exc:
            reason = str(getattr(exc, "reason", "") or exc)
            if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNEXPECTED_EOF_WHILE_READING"):
                raise _tls_error(
                    spec,
                    f"the server does not speak TLS ({reason})",
                    "is it a plaintext test runner? Use grpc:// with --plaintext-loopback only on loopback",
                ) from None
            raise _client_rejected(spec, reason) from None
        except OSError as exc:
            raise _tls_error(
                spec, f"the connection broke during the TLS handshake: {exc}", "see the remote runner's log"
            ) from None
        with tls:
            # TLS 1.3: the server checks this client's certificate after the handshake, and answers a
            # refused one with an alert or by closing the connection; an accepted one gets SETTINGS
            try:
                tls.sendall(_H2_PREFACE)
                answer = tls.recv(9)
            except ssl.SSLError as exc:
                raise _client_rejected(spec, str(getattr(exc, "reason", "") or exc)) from None
            except OSError as exc:
                raise _client_rejected(spec, f"connection closed: {exc}") from None
            if not answer:
                raise _client_rejected(spec, "connection closed after the handshake")


def _client_rejected(spec: RemoteSpec, reason: str) -> BrokerError:
    """The server refused this client in the TLS handshake: say which certificate, and why when known."""
    if spec.cert is None:
        why = _PEER_REJECTED["TLSV13_ALERT_CERTIFICATE_REQUIRED"]
    else:
        why = _PEER_REJECTED.get(
            reason, "it is not signed by the CA the server trusts (its --client-ca), or has expired"
        )
    which = f"this client's certificate {spec.cert}" if spec.cert else "this client"
    return _tls_error(
        spec,
        f"the server rejected {which}: {why} ({reason})",
        "use a client certificate signed by the CA the remote runner was started with (--client-ca), "
        "with --tls-cert and --tls-key",
    )


def _plaintext_probe(spec: RemoteSpec, sock: socket.socket) -> None:
    """A plaintext HTTP/2 preface: a TLS server answers with an alert or closes."""
    try:
        sock.sendall(_H2_PREFACE)
        head = sock.recv(9)
    except OSError:
        head = b""
    if len(head) < 9 or head[:1] in (b"\x15", b"\x16"):  # TLS alert or handshake records
        raise _tls_error(
            spec,
            "the server refused a plaintext connection: it requires mutual TLS",
            "use grpcs://HOST:PORT with --tls-ca, --tls-cert and --tls-key",
        )


# -- the runner ----------------------------------------------------------------------------
class RemoteRunner(RunnerProcess):
    """A Session's runner that is served by `mmbroker runner serve` on another host."""

    def __init__(self, spec: RemoteSpec, call_timeout: float = CALL_TIMEOUT) -> None:
        super().__init__(spec.framework, "", call_timeout=call_timeout)
        self.spec = spec
        self._alive = False

    def start(self) -> RemoteRunner:
        t0 = time.monotonic()
        preflight(self.spec)
        if self.spec.tls:
            creds = grpc.ssl_channel_credentials(
                root_certificates=self.spec.ca.read_bytes() if self.spec.ca else None,
                private_key=self.spec.key.read_bytes() if self.spec.key else None,
                certificate_chain=self.spec.cert.read_bytes() if self.spec.cert else None,
            )
            self.channel = grpc.secure_channel(self.spec.address, creds, options=TRANSFER_OPTIONS)
        else:
            self.channel = grpc.insecure_channel(self.spec.address, options=TRANSFER_OPTIONS)
        self.stub = rpc.Stub(self.channel)
        self._alive = True
        info = self.describe()
        if info.protocol_version != rpc.PROTOCOL_VERSION:
            self.stop()
            raise RunnerCrashed(
                f"{self.spec.where} speaks runner protocol {info.protocol_version}, this broker {rpc.PROTOCOL_VERSION}",
                reference="runner-protocol-mismatch",
                framework=self.framework,
                hint="use the same mmbroker version on both hosts",
            )
        if info.framework != self.framework:
            self.stop()
            raise _bad(
                f"{self.spec.where} is a {info.framework} runner", "give each framework its own runner's address"
            )
        self.started_at = time.monotonic()
        self.start_seconds = self.started_at - t0
        return self

    def alive(self) -> bool:
        return self._alive

    def stop(self, grace: float = 3.0) -> None:
        """Closes this broker's connection; the remote runner keeps serving."""
        self._alive = False
        if self.channel is not None:
            self.channel.close()
        self.channel = None
        self.stub = None

    def _env_damage(self, failure: BrokerError) -> BrokerError | None:
        return None

    def stderr_tail(self, lines: int = 15) -> str:
        return ""

    # -- a step: files up, the call, files down -------------------------------------------------
    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        if not self._alive or self.stub is None:
            raise RunnerCrashed(f"{self.spec.where} is not connected", framework=self.framework)
        deadline = timeout or self.call_timeout
        step = _Step(self, secrets.token_hex(16), deadline)
        try:
            sent = step.send(method, request)
            try:
                response = getattr(self.stub, method)(sent, timeout=deadline, metadata=step.metadata())
            except grpc.RpcError as err:
                raise self._translate(method, err, deadline) from None
            response = step.receive(method, request, response)
            if method == "Infer" and response.engine:
                response.engine = f"{response.engine} (remote {self.framework} runner at {self.spec.address})"
            return response
        finally:
            if method != "Describe":
                step.end()

    def _translate(self, method: str, err: grpc.RpcError, deadline: float) -> Exception:
        trailing = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
        if any(k == rpc.ERROR_METADATA_KEY for k, _ in trailing or ()):
            failed = super()._translate(method, err, deadline)
            if isinstance(failed, BrokerError) and not failed.message.startswith("the remote"):
                failed.message = f"{self.spec.where}: {failed.message}"
            return failed
        code = err.code() if hasattr(err, "code") else None
        details = err.details() if hasattr(err, "details") else str(err)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return RunnerCrashed(
                f"{self.spec.where} did not answer {method} within {deadline:.0f} s",
                reference="runner-timeout",
                framework=self.framework,
                hint="raise MMBROKER_CALL_TIMEOUT for very large models",
            )
        if code == grpc.StatusCode.UNAVAILABLE:
            self._alive = False
            return RunnerCrashed(
                f"{self.spec.where} went away during {method} (connection lost: {details}): the "
                "remote runner died or was stopped, or the network failed",
                framework=self.framework,
                hint="see the remote runner's log on its host, then start it again",
            )
        return RunnerCrashed(
            f"{method} call to {self.spec.where} failed: {code.name if code else '?'} {details}",
            framework=self.framework,
        )

    # -- chunked transfer ------------------------------------------------------------------------
    def upload(self, local: Path, name: str, metadata: list[tuple[str, str]], deadline: float) -> str:
        """Send `local` as `name` into the step's workspace; returns the name the server gives it."""
        if local.is_dir():
            raise BrokerError(
                "folders cannot be sent to a remote runner yet",
                reference="not-a-file",
                file=str(local),
                framework=self.framework,
                hint="convert the folder's model with a local runner",
            )
        digest = hashlib.sha256()

        def chunks() -> Iterator[Any]:
            offset = 0
            with open(local, "rb") as f:
                while True:
                    data = f.read(CHUNK)
                    digest.update(data)
                    last = len(data) < CHUNK
                    yield pb.Chunk(name=name, offset=offset, data=data, last=last)
                    offset += len(data)
                    if last:
                        return

        try:
            ref = self.stub.Upload(chunks(), timeout=deadline, metadata=metadata)
        except grpc.RpcError as err:
            raise self._translate("Upload", err, deadline) from None
        if ref.sha256 != digest.hexdigest():
            raise _digest_error(self.spec, str(local), "upload")
        return str(ref.path)

    def download(self, name: str, local: Path, metadata: list[tuple[str, str]], deadline: float) -> Path:
        """Receive `name` of the step's workspace into `local` (written whole, then renamed)."""
        digest = hashlib.sha256()

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                stream = self.stub.Download(pb.FileRef(path=name), timeout=deadline, metadata=metadata)
                try:
                    for chunk in stream:
                        f.write(chunk.data)
                        digest.update(chunk.data)
                    trailing = dict(stream.trailing_metadata() or ())
                except grpc.RpcError as err:
                    raise self._translate("Download", err, deadline) from None
            if trailing.get(DIGEST_KEY) != digest.hexdigest():
                raise _digest_error(self.spec, str(local), "download")

        tensors.atomic_write(str(local), write)  # written beside it, renamed into place when complete
        return local


def _digest_error(spec: RemoteSpec, path: str, way: str) -> BrokerError:
    return BrokerError(
        f"{spec.where}: the {way} of {os.path.basename(path)} arrived with another sha256 than it left with",
        reference="remote-digest-mismatch",
        file=path,
        framework=spec.framework,
        hint="the network or a proxy changed the data: run the command again",
    )


# An ONNX model with external data is small (its tensors are in other files); one larger than this
# holds its weights inline and is not read here just to find none.
COMPANION_SCAN_MAX = 64 << 20


def companions(path: Path) -> list[str]:
    """The files a model reads beside itself and that are not given on the command line: an ONNX
    model's external data files, as relative names, only those inside its folder (the remote side
    refuses others, and no other file of this host is sent)."""
    if path.suffix.lower() != ".onnx" or not path.is_file() or path.stat().st_size > COMPANION_SCAN_MAX:
        return []
    import onnx

    from runners.common.ir import all_tensors

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001  (the runner names what is wrong with the file)
        return []
    base = path.parent.resolve()
    found: list[str] = []
    for tensor in all_tensors(model.graph):
        loc = next((e.value for e in tensor.external_data if e.key == "location"), "")
        full = base / loc
        if (
            loc
            and loc not in found
            and not full.is_symlink()
            and full.resolve().is_relative_to(base)
            and full.is_file()
        ):
            found.append(loc)
    return found


class _Step:
    """One call's workspace on the remote side: what was sent there, and where the answers go here."""

    def __init__(self, runner: RemoteRunner, token: str, deadline: float) -> None:
        self.runner = runner
        self.token = token
        self.deadline = deadline
        self.sent: dict[str, str] = {}  # local path -> name there

    def metadata(self, end: bool = False) -> list[tuple[str, str]]:
        meta = [(WORKSPACE_KEY, self.token), (PROTOCOL_KEY, str(rpc.PROTOCOL_VERSION))]
        return meta + [(WORKSPACE_END_KEY, "1")] if end else meta

    def put(self, local: str, folder: str) -> str:
        """Upload a file into `folder/<n>/` there, with the files it reads beside itself."""
        path = Path(local)
        if local not in self.sent:
            place = f"{folder}/{len(self.sent)}"
            self.sent[local] = self.runner.upload(path, f"{place}/{path.name}", self.metadata(), self.deadline)
            for rel in companions(path):
                self.runner.upload(path.parent / rel, f"{place}/{rel}", self.metadata(), self.deadline)
        return self.sent[local]

    def send(self, method: str, request: Any) -> Any:
        """A copy of `request` whose files are uploaded and named by their place there."""
        out = type(request)()
        out.CopyFrom(request)
        if method == "Parse":
            out.sources[:] = [self.put(s, "src") for s in request.sources]
            out.workspace = "parse"
        elif method == "Emit":
            if request.weights.path:
                out.weights.path = self.put(request.weights.path, "ir")
            out.out_dir = "out"
        elif method == "Save":
            for ref in out.emitted:
                ref.path = self.put(ref.path, "emitted")
            out.output = "save/" + Path(request.output).name
        elif method == "Infer":
            out.model[:] = [self.put(m, "model") for m in request.model]
            for t in out.inputs:
                if t.path:
                    t.path = self.put(t.path, "inputs")
            out.workspace = "infer"
        if hasattr(out, "options"):
            for key in ("classInputPath",):
                if out.options.get(key):
                    out.options[key] = self.put(out.options[key], "options")
        return out

    def receive(self, method: str, request: Any, response: Any) -> Any:
        """The response with the files it names downloaded here, beside where a local runner puts them."""

        def get(name: str, local_dir: str, under: str) -> str:
            rel = name[len(under) + 1 :] if name.startswith(under + "/") else Path(name).name
            return str(self.runner.download(name, Path(local_dir) / rel, self.metadata(), self.deadline))

        if method == "Parse" and response.weights.path:
            response.weights.path = get(response.weights.path, request.workspace, "parse")
        elif method == "Emit":
            for ref in response.files:
                ref.path = get(ref.path, request.out_dir, "out")
        elif method == "Save":
            for ref in response.files:
                ref.path = get(ref.path, str(Path(request.output).parent), "save")
        elif method == "Infer":
            for t in list(response.outputs) + list(response.intermediates):
                if t.path:
                    t.path = get(t.path, request.workspace, "infer")
        return response

    def end(self) -> None:
        """Ends the workspace there (the server also removes one left unused)."""
        if self.runner.stub is None:
            return
        try:
            for _ in self.runner.stub.Download(pb.FileRef(path=""), timeout=30, metadata=self.metadata(end=True)):
                pass
        except grpc.RpcError:
            pass

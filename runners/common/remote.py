"""A runner served over TCP to brokers on other hosts: `python -m runners.<fw> --listen HOST:PORT
--tls-cert C --tls-key K --client-ca CA` (started by `mmbroker runner serve`).

Mutual TLS: the server presents C and accepts only clients whose certificate CA signed. A plaintext
port is opened only with `--plaintext-loopback` and only on a loopback address (for tests).

Workspaces. A broker and a remote runner share no filesystem: every path in a request names a file
in the request's workspace, a folder of its own under the server's root, chosen by the random token
the broker sends as metadata `mmbroker-workspace` with every call of one step (the uploads, the
call, the downloads). A path is resolved inside that folder and refused (`unsafe-path`) when it is
absolute or climbs out of it. The broker ends a workspace with a call carrying
`mmbroker-workspace-end: 1` (an empty Download); one unused for `ttl` seconds is removed too.

Limits: at most `max_requests` workspaces at a time (`remote-busy`), at most `max_bytes` uploaded
into one (`remote-request-too-large`). Files move in chunks of CHUNK bytes, written as they arrive
(a chunk must start where the previous one ended), with their sha256 returned on Upload and sent as
trailing metadata `mmbroker-sha256` on Download, for the broker to check.

Runs on every interpreter a runner uses (CPython 3.6 for CNTK): no f-strings, no dataclasses.
"""

import hashlib
import ipaddress
import itertools
import os
import re
import shutil
import sys
import threading
import time

from . import rpc
from .errors import RunnerError, abort_with
from .rpc import pb
from .server import Servicer, grpc_server, stop_on_signals
from .tensors import atomic_write

CHUNK = 1 << 18
WORKSPACE_KEY = "mmbroker-workspace"
WORKSPACE_END_KEY = "mmbroker-workspace-end"
PROTOCOL_KEY = "mmbroker-protocol"
DIGEST_KEY = "mmbroker-sha256"
# Both ends: the HTTP/2 flow-control window stays at its 64 KB default instead of growing with the
# measured bandwidth (BDP probing), which on a fast link lets gRPC queue tens of MB of a transfer in
# memory ahead of the code that writes it to disk.
TRANSFER_OPTIONS = rpc.GRPC_OPTIONS + [("grpc.http2.bdp_probe", 0)]
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
# options whose value is a file the runner reads (CoreML's class labels): sent as files
PATH_OPTIONS = ("classInputPath",)


class RemoteError(RunnerError):
    """A refusal by the remote side, with the gRPC status it travels with."""

    def __init__(self, reference, message, grpc_code="INVALID_ARGUMENT", hint="", file=""):
        super(RemoteError, self).__init__(reference, message, file=file, hint=hint)
        self.grpc_code = grpc_code


def parse_listen(text):
    """(host, port) from HOST:PORT or [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError("--listen takes HOST:PORT, e.g. 0.0.0.0:7443 or [::1]:7443, not %r" % text)
    return host.strip("[]"), int(port)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_address(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def resolve(root, name):
    """`name` (a path sent by a broker) as a path inside `root`; refused when it would leave it."""
    if not name or "\0" in name or os.path.isabs(name) or name.startswith("~"):
        raise RemoteError(
            "unsafe-path",
            "the path %r in the request is not a relative name in the request's workspace" % name,
            grpc_code="PERMISSION_DENIED",
            file=name,
        )
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise RemoteError(
            "unsafe-path",
            "the path %r in the request leaves the request's workspace" % name,
            grpc_code="PERMISSION_DENIED",
            file=name,
        )
    base = os.path.realpath(root)
    full = os.path.realpath(os.path.join(base, *[p for p in parts if p not in ("", ".")]))
    if full != base and not full.startswith(base + os.sep):  # a symbolic link pointing out
        raise RemoteError(
            "unsafe-path",
            "the path %r in the request leaves the request's workspace" % name,
            grpc_code="PERMISSION_DENIED",
            file=name,
        )
    return full


def publish(root, path):
    """A path the runner wrote, as the name the broker sees (relative to the workspace)."""
    base = os.path.realpath(root)
    full = os.path.realpath(path)
    if not full.startswith(base + os.sep):
        raise RunnerError(
            "internal-bug",
            "the runner answered with a file outside the request's workspace: %s" % os.path.basename(path),
        )
    return os.path.relpath(full, base).replace(os.sep, "/")


class Workspace(object):
    def __init__(self, path):
        self.path = path
        self.received = 0
        self.users = 0
        self.last_used = time.monotonic()
        self.ended = False


class Workspaces(object):
    """The live request workspaces under `root`, with the limits on their number and size."""

    def __init__(self, root, max_requests, max_bytes, ttl):
        self.root = root
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.live = {}
        self.lock = threading.Lock()

    def enter(self, token):
        if not _TOKEN.match(token or ""):
            raise RemoteError(
                "bad-option",
                "a call to a remote runner needs the metadata %s (32 hex digits)" % WORKSPACE_KEY,
                hint="use mmbroker's --runner option to talk to a remote runner",
            )
        with self.lock:
            ws = self.live.get(token)
            if ws is None:
                if len(self.live) >= self.max_requests:
                    raise RemoteError(
                        "remote-busy",
                        "the remote runner is serving %d requests, its limit (--max-requests)" % len(self.live),
                        grpc_code="RESOURCE_EXHAUSTED",
                    )
                ws = Workspace(os.path.join(self.root, token))
                os.mkdir(ws.path, 0o700)
                self.live[token] = ws
            ws.users += 1
            ws.last_used = time.monotonic()
            return ws

    def leave(self, token, end):
        with self.lock:
            ws = self.live.get(token)
            if ws is None:
                return
            ws.users -= 1
            ws.last_used = time.monotonic()
            ws.ended = ws.ended or end
            if ws.ended and ws.users <= 0:
                del self.live[token]
            else:
                return
        shutil.rmtree(ws.path, ignore_errors=True)

    def count(self, ws, n):
        with self.lock:
            ws.received += n
            if ws.received > self.max_bytes:
                raise RemoteError(
                    "remote-request-too-large",
                    "the request sends more than the remote runner accepts (%d MB, --max-request-mb)"
                    % (self.max_bytes >> 20),
                    grpc_code="RESOURCE_EXHAUSTED",
                )

    def reap(self):
        """Remove the workspaces nobody used for `ttl` seconds (a broker that went away)."""
        now = time.monotonic()
        with self.lock:
            old = [t for t, ws in self.live.items() if ws.users <= 0 and now - ws.last_used > self.ttl]
            gone = [self.live.pop(t) for t in old]
        for ws in gone:
            shutil.rmtree(ws.path, ignore_errors=True)

    def reaper(self, stop_event):
        def run():
            while not stop_event.wait(min(30.0, self.ttl / 2)):
                self.reap()

        t = threading.Thread(target=run, name="workspace-reaper")
        t.daemon = True
        t.start()


def _metadata(context):
    return dict((k, v) for k, v in (context.invocation_metadata() or ()))


class RemoteServicer(Servicer):
    """The runner service for remote brokers: each call works inside its request's workspace."""

    def __init__(self, runner, grpc, stop_event, workspaces):
        super(RemoteServicer, self).__init__(runner, grpc, stop_event)
        self.workspaces = workspaces

    # -- the request's workspace around every call -----------------------------------------
    def _enter(self, context):
        meta = _metadata(context)
        protocol = meta.get(PROTOCOL_KEY, "")
        if protocol and protocol != str(rpc.PROTOCOL_VERSION):
            raise RemoteError(
                "runner-protocol-mismatch",
                "the remote %s runner speaks protocol %d, the broker %s"
                % (self.runner.framework, rpc.PROTOCOL_VERSION, protocol),
                grpc_code="FAILED_PRECONDITION",
                hint="use the same mmbroker version on both hosts",
            )
        token = meta.get(WORKSPACE_KEY, "")
        return token, self.workspaces.enter(token), meta.get(WORKSPACE_END_KEY) == "1"

    def _call(self, method, request, context):
        if type(request).DESCRIPTOR.name == "DescribeRequest":  # about the runner, not a request's files
            return self._run(method, request, context)
        try:
            token, ws, end = self._enter(context)
        except RunnerError as err:
            err.framework = err.framework or self.runner.framework
            abort_with(context, self.grpc, err)
        try:
            try:
                localize(request, ws.path)
            except RunnerError as err:
                err.framework = err.framework or self.runner.framework
                abort_with(context, self.grpc, err)
            response = self._run(method, request, context)
            try:
                return publish_response(response, ws.path)
            except RunnerError as err:
                err.framework = self.runner.framework
                abort_with(context, self.grpc, err)
        finally:
            self.workspaces.leave(token, end)

    def Shutdown(self, request, context):
        context.abort(self.grpc.StatusCode.PERMISSION_DENIED, "a remote runner is stopped on its own host")

    # -- files -------------------------------------------------------------------------------
    def Upload(self, request_iterator, context):
        try:
            token, ws, end = self._enter(context)
        except RunnerError as err:
            abort_with(context, self.grpc, err)
        try:
            chunks = iter(request_iterator)
            first = next(chunks, None)
            if first is None:
                raise RemoteError("bad-option", "an upload without any chunk")
            path = resolve(ws.path, first.name)
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o700)
            digest = hashlib.sha256()
            size = [0]

            def write(tmp):
                with open(tmp, "wb") as f:
                    for chunk in itertools.chain([first], chunks):
                        if chunk.offset != size[0]:
                            raise RemoteError("bad-option", "upload of %s: a chunk at offset %d, expected %d"
                                              % (first.name, chunk.offset, size[0]))  # fmt: skip
                        self.workspaces.count(ws, len(chunk.data))
                        f.write(chunk.data)
                        digest.update(chunk.data)
                        size[0] += len(chunk.data)

            atomic_write(path, write)  # a broken upload leaves no part behind
            return pb.FileRef(path=publish(ws.path, path), role="upload", size=size[0], sha256=digest.hexdigest())
        except RunnerError as err:
            err.framework = err.framework or self.runner.framework
            abort_with(context, self.grpc, err)
        finally:
            self.workspaces.leave(token, end)

    def Download(self, request, context):
        try:
            token, ws, end = self._enter(context)
        except RunnerError as err:
            abort_with(context, self.grpc, err)
        try:
            if not request.path:  # ends the workspace and moves nothing
                return
            try:
                path = resolve(ws.path, request.path)
                if os.path.isdir(path):
                    raise RemoteError(
                        "not-a-file",
                        "%s is a folder: a remote runner sends files only, not folders yet" % request.path,
                        hint="choose an output format that is one file (CoreML: .mlmodel, not .mlpackage)",
                        file=request.path,
                    )
                if not os.path.isfile(path):
                    raise RemoteError(
                        "missing-file",
                        "no file %s in the request's workspace" % request.path,
                        grpc_code="NOT_FOUND",
                        file=request.path,
                    )
            except RunnerError as err:
                err.framework = self.runner.framework
                abort_with(context, self.grpc, err)
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                offset = 0
                while True:
                    data = f.read(CHUNK)
                    digest.update(data)
                    last = len(data) < CHUNK
                    if last:  # sent with the stream's end
                        context.set_trailing_metadata(((DIGEST_KEY, digest.hexdigest()),))
                    yield pb.Chunk(name=request.path, offset=offset, data=data, last=last)
                    offset += len(data)
                    if last:
                        break
        finally:
            self.workspaces.leave(token, end)


def localize(request, root):
    """Every path of a request, resolved inside the workspace `root` (a refusal names the path)."""
    name = type(request).DESCRIPTOR.name

    def folder(value, default):
        path = resolve(root, value or default)
        if not os.path.isdir(path):
            os.makedirs(path, 0o700)
        return path

    if name == "ParseRequest":
        request.sources[:] = [resolve(root, s) for s in request.sources]
        request.workspace = folder(request.workspace, "parse")
    elif name == "EmitRequest":
        if request.weights.path:
            request.weights.path = resolve(root, request.weights.path)
        request.out_dir = folder(request.out_dir, "out")
    elif name == "SaveRequest":
        for f in request.emitted:
            f.path = resolve(root, f.path)
        request.output = resolve(root, request.output)
        folder(os.path.relpath(os.path.dirname(request.output), os.path.realpath(root)), ".")
    elif name == "InferRequest":
        request.model[:] = [resolve(root, m) for m in request.model]
        for t in request.inputs:
            if t.path:
                t.path = resolve(root, t.path)
        request.workspace = folder(request.workspace, "infer")
    options = getattr(request, "options", None)
    if options is not None:
        for key in PATH_OPTIONS:
            if options.get(key):
                options[key] = resolve(root, options[key])


def publish_response(response, root):
    """The response with every file it names given as its name in the workspace."""
    refs = []
    name = type(response).DESCRIPTOR.name
    if name == "ParseResponse":
        refs = [response.weights] if response.weights.path else []
    elif name in ("EmitResponse", "SaveResponse"):
        refs = list(response.files)
    for ref in refs:
        ref.path = publish(root, ref.path)
    if name == "InferResponse":
        for t in list(response.outputs) + list(response.intermediates):
            if t.path:
                t.path = publish(root, t.path)
    return response


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def serve_remote(args, make_runner, grpc):
    """Serve `make_runner()` on args.listen until SIGTERM/SIGINT; returns the exit status."""
    import tempfile

    host, port = parse_listen(args.listen)
    if args.plaintext_loopback and not is_loopback(host):
        sys.stderr.write("--plaintext-loopback serves only a loopback address (127.0.0.1, ::1), not %s\n" % host)
        return 2
    if not args.plaintext_loopback and not (args.tls_cert and args.tls_key and args.client_ca):
        sys.stderr.write("a remote runner needs --tls-cert, --tls-key and --client-ca (mutual TLS)\n")
        return 2
    root = tempfile.mkdtemp(prefix="mmbroker-serve-%s-" % args.framework_name)
    os.environ["TMPDIR"] = os.path.join(root, "tmp")  # what the framework leaves goes with the root
    os.mkdir(os.environ["TMPDIR"], 0o700)
    tempfile.tempdir = None
    stop_event = threading.Event()
    workspaces = Workspaces(
        os.path.join(root, "requests"), args.max_requests, args.max_request_mb << 20, args.workspace_ttl
    )
    os.mkdir(workspaces.root, 0o700)
    workspaces.reaper(stop_event)
    workers = 2 * args.max_requests + 2
    servicer = RemoteServicer(make_runner(), grpc, stop_event, workspaces)
    # no SO_REUSEPORT (gRPC's default): a second server on a port in use fails instead of sharing it
    options = TRANSFER_OPTIONS + [("grpc.so_reuseport", 0)]
    server = grpc_server(grpc, servicer, workers, options, maximum_concurrent_rpcs=workers)
    address = bind_address(host, port)
    why = "in use, or not an address of this host"
    try:
        if args.plaintext_loopback:
            bound = server.add_insecure_port(address)
        else:
            creds = grpc.ssl_server_credentials(
                [(_read(args.tls_key), _read(args.tls_cert))], root_certificates=_read(args.client_ca),
                require_client_auth=True,
            )  # fmt: skip
            bound = server.add_secure_port(address, creds)
    except (OSError, RuntimeError, ValueError) as exc:  # grpc raises RuntimeError when it cannot bind
        why, bound = "%s: %s" % (why, exc), 0
    if not bound:
        sys.stderr.write("could not listen on %s (%s)\n" % (address, why))
        shutil.rmtree(root, ignore_errors=True)
        return 3
    server.start()
    stop_on_signals(stop_event)
    sys.stderr.write(
        "%s runner serving %s on %s (%s)\n"
        % (
            args.framework_name,
            "plaintext" if args.plaintext_loopback else "mutual TLS",
            bind_address(host, bound),
            root,
        )
    )
    sys.stdout.write("%s|%d|tcp|%s\n" % (rpc.HANDSHAKE_PREFIX, rpc.PROTOCOL_VERSION, bind_address(host, bound)))
    sys.stdout.flush()
    while not stop_event.wait(0.5):
        pass
    server.stop(grace=1.0).wait(3)
    shutil.rmtree(root, ignore_errors=True)
    return 0

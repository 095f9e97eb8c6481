"""The gRPC server every runner runs: `python -m runners.<fw> --socket-dir DIR [--parent-pid PID]`.

It binds a unix socket in DIR (a private directory the broker made), registers the runner and
health services, prints exactly one handshake line on stdout and serves until Shutdown, a signal,
or the broker's exit. Everything else it says goes to stderr.

Ending: Shutdown, SIGTERM or SIGINT stop the server (calls still running get half a second) and
the process leaves with `os._exit`, without waiting for a worker thread stuck in a call. When the
broker (PID, default the parent) dies, the runner removes DIR and exits at once (lifetime.py).
Temporary files it makes go under $TMPDIR, which the broker points inside DIR; the inbox is also
removed on every exit.

Test hook: `MMBROKER_TEST_HANG=<method>` (parse, emit, save or infer) makes that call sleep for an
hour, so tests can end a broker while its runner is busy. Nothing else reads it.
"""

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from concurrent import futures
from typing import Any  # noqa: F401  (type comments)

from . import lifetime, rpc
from .errors import SAVE_HINT, InternalBug, RunnerError, abort_with
from .rpc import pb


class Servicer(object):
    """Adapts a framework runner object (describe/parse/emit/save/infer methods) to gRPC."""

    def __init__(self, runner, grpc, stop_event, watch=None):
        self.runner = runner
        self.grpc = grpc
        self.stop_event = stop_event
        self.watch = watch  # a warm runner's CallWatch: the broker of each call is watched

    def _call(self, method, request, context):
        if self.watch is None:
            return self._run(method, request, context)
        client = 0
        for key, value in context.invocation_metadata() or ():
            if key == lifetime.CLIENT_PID_KEY and value.isdigit():
                client = int(value)
        call = self.watch.begin(client)
        try:
            return self._run(method, request, context)
        finally:
            # nothing a request left in the runner's $TMPDIR is seen by the next one
            if not self.watch.busy_except(call):
                lifetime.clear_folder(os.environ.get("TMPDIR"))
                self.runner._inbox = None
            self.watch.end(call)

    def _run(self, method, request, context):
        _preloaded.wait()
        try:
            if os.environ.get("MMBROKER_TEST_HANG", "").lower() == getattr(method, "__name__", ""):
                sys.stderr.write("MMBROKER_TEST_HANG: %s sleeps for an hour\n" % method.__name__)
                sys.stderr.flush()
                time.sleep(3600)
            return _profiled(method, request, self.runner.framework)
        except InternalBug as err:  # raised where the node being converted is known
            err.framework = err.framework or self.runner.framework
            err.file = err.file or _request_file(request)
            sys.stderr.write(traceback.format_exc())
            abort_with(context, self.grpc, err)
        except RunnerError as err:
            if not err.framework:
                err.framework = self.runner.framework
            sys.stderr.write("runner error: %s\n" % err)
            abort_with(context, self.grpc, err)
        except Exception as exc:  # a bug or an unexpected library failure: say where, keep going
            sys.stderr.write(traceback.format_exc())
            abort_with(context, self.grpc, InternalBug(exc, self.runner.framework, _request_file(request)))
        except SystemExit as exc:  # a model's own code calling exit(): the call ended without an answer
            sys.stderr.write(traceback.format_exc())
            abort_with(
                context,
                self.grpc,
                RunnerError(
                    "invalid-model",
                    "the model's code exited (SystemExit: %s) while it was loaded or run" % (exc.code,),
                    file=_request_file(request),
                    framework=self.runner.framework,
                    hint="the model's code must not call exit(); fix it or load the model another way",
                ),
            )
        finally:
            _give_back_memory()

    def Describe(self, request, context):
        return self._call(lambda r: self.runner.describe(), request, context)

    def Parse(self, request, context):
        return self._call(self.runner.parse, request, context)

    def Emit(self, request, context):
        return self._call(self.runner.emit, request, context)

    def Save(self, request, context):
        return self._call(self.runner.save, request, context)

    def Infer(self, request, context):
        return self._call(self.runner.infer, request, context)

    def Shutdown(self, request, context):
        self.stop_event.set()
        return pb.ShutdownResponse()

    def Upload(self, request_iterator, context):
        from .tensors import file_ref

        path = None
        f = None
        try:
            for chunk in request_iterator:
                if f is None:
                    path = os.path.join(self.runner.inbox(), os.path.basename(chunk.name))
                    f = open(path, "wb")
                f.seek(chunk.offset)
                f.write(chunk.data)
        finally:
            if f is not None:
                f.close()
        if path is None:
            context.abort(self.grpc.StatusCode.INVALID_ARGUMENT, "empty upload")
        return file_ref(path, "upload")

    def Download(self, request, context):
        size = 1 << 20
        with open(request.path, "rb") as f:
            offset = 0
            while True:
                data = f.read(size)
                last = len(data) < size
                yield pb.Chunk(name=os.path.basename(request.path), offset=offset, data=data, last=last)
                offset += len(data)
                if last:
                    break


def _request_file(request):
    """The model file a request is about, to name in an error: the source parsed, the model run or
    the output written (an Emit request is about the IR, which the broker names itself)."""
    for field in ("sources", "model"):
        files = getattr(request, field, None)
        if files:
            return files[0]
    return getattr(request, "output", "") or ""


class Health(object):
    def Check(self, request, context):
        return rpc.health_pb.HealthCheckResponse(status=1)  # SERVING


class RunnerBase(object):
    """What a framework runner subclasses. Methods take and return protocol messages."""

    framework = "?"
    _inbox = None

    def describe(self):
        raise NotImplementedError

    def parse(self, request):
        raise RunnerError("bad-option", "%s cannot parse models" % self.framework)

    def emit(self, request):
        raise RunnerError("bad-option", "%s cannot emit models" % self.framework)

    def save(self, request):
        raise RunnerError("bad-option", "%s cannot save models" % self.framework)

    def infer(self, request):
        raise RunnerError("bad-option", "%s cannot run models" % self.framework)

    @staticmethod
    def emit_weights(request):
        """The IR weights of an Emit request, as {name: array}."""
        from .tensors import load_npz

        if not request.weights.path:
            raise RunnerError("missing-file", "no weights file given")
        return load_npz(request.weights.path)

    @staticmethod
    def emitted(request, weights_ext, weights_role):
        """(code path, weights path) among a Save request's emitted files."""
        code = [f.path for f in request.emitted if f.role == "code" or f.path.endswith(".py")]
        weights = [f.path for f in request.emitted if f.role == weights_role or f.path.endswith(weights_ext)]
        if len(code) != 1 or len(weights) != 1:
            raise RunnerError(
                "missing-file",
                "Save needs the emitted .py (role code) and %s (role %s)" % (weights_ext, weights_role),
                hint=SAVE_HINT,
            )
        return code[0], weights[0]

    def inbox(self):
        if self._inbox is None:
            import tempfile

            self._inbox = tempfile.mkdtemp(prefix="mmbroker-%s-inbox-" % self.framework)
        return self._inbox


def describe_response(framework, versions, reads, writes, emit_ops, lacks=(), formats=(), min_opset=None,
                      capabilities=None):  # fmt: skip
    """The Describe answer of a runner at the IR opset. `emit_ops`/`lacks` describe its default
    output format (the ops Emit converts, the legalization forms it lacks: see
    broker/ir/legalize); `formats` lists (format, ops, lacks) for formats written by another
    emitter (e.g. CoreML's .mlpackage)."""
    from . import ir

    emit_formats = [pb.EmitCapabilities(format="", ops=sorted(emit_ops), lacks=sorted(lacks))]
    for fmt, ops, fmt_lacks in formats:
        emit_formats.append(pb.EmitCapabilities(format=fmt, ops=sorted(ops), lacks=sorted(fmt_lacks)))
    return pb.DescribeResponse(
        protocol_version=rpc.PROTOCOL_VERSION,
        framework=framework,
        versions=versions,
        reads=reads,
        writes=writes,
        min_opset=ir.IR_OPSET if min_opset is None else min_opset,
        max_opset=ir.IR_OPSET,
        capabilities=capabilities or ["parse", "emit", "save", "infer", "intermediates"],
        emit_ops=sorted(emit_ops),
        emit_formats=emit_formats,
        python="%d.%d.%d" % tuple(sys.version_info[:3]),
    )


def installed_version(distribution):
    """The version of an installed distribution, read from its metadata, without importing it
    (onnxscript takes 0.6 s to import only to say its version); "" when it is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # Python before 3.8
        return ""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


# The module each framework's runner spends its first seconds importing; `serve` starts importing it
# at once, in a thread, so that the import runs while the server starts, the broker reads the
# handshake and sends the first request (the request's own import then waits for it to finish).
PRELOAD = {
    "mxnet": "mxnet",
    "pytorch": "torch",
    "tensorflow": "tensorflow",
    "onnx": "onnxruntime",
    "coreml": "coremltools",
    "cntk": "cntk",
}


_preloaded = threading.Event()  # requests wait for it: two threads importing one package at once can
_preloaded.set()  # see it half-initialized (ModuleNotFoundError for tensorflow.compat)


def _profiled(method, request, framework):
    """Run one request; with $MMBROKER_PROFILE naming a folder, under cProfile, its statistics
    written there as <framework>-<method>-<pid>-<time>.prof (read with `python -m pstats`)."""
    folder = os.environ.get("MMBROKER_PROFILE")
    if not folder:
        return method(request)
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    try:
        return method(request)
    finally:
        prof.disable()
        name = "%s-%s-%d-%d.prof" % (framework, type(request).__name__.replace("Request", "").lower(), os.getpid(),
                                     int(time.time() * 1000))  # fmt: skip
        if not os.path.isdir(folder):
            try:
                os.makedirs(folder)
            except OSError:  # made meanwhile by another runner
                pass
        prof.dump_stats(os.path.join(folder, name))


def _give_back_memory():
    """Return the memory a request freed to the system (glibc keeps it in the arena of the thread
    that freed it, which the next request, served by another thread, does not reuse): without
    this a runner's resident memory, and its peak, grow with each request it serves."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None  # type: Any


def _preload(module):
    import importlib

    def run():
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001  (the request that needs it reports the failure)
            pass
        finally:
            _preloaded.set()

    _preloaded.clear()
    t = threading.Thread(target=run, name="preload")
    t.daemon = True
    t.start()


def serve(make_runner, argv=None):
    """Entry point of `python -m runners.<fw>`. `make_runner` builds the RunnerBase instance."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    package = (getattr(spec, "name", "") or "").split(".")  # runners.<fw>.__main__
    if len(package) > 1 and package[0] == "runners" and package[1] in PRELOAD:
        _preload(PRELOAD[package[1]])
    parser = argparse.ArgumentParser(description="mmbroker runner")
    parser.add_argument("--socket-dir", help="private folder for the unix socket (a local runner)")
    parser.add_argument("--listen", help="HOST:PORT: serve brokers on other hosts (runners/common/remote.py)")
    parser.add_argument("--tls-cert", help="remote: the server's certificate chain (PEM)")
    parser.add_argument("--tls-key", help="remote: the server's private key (PEM)")
    parser.add_argument("--client-ca", help="remote: the CA that signs the certificates of accepted clients")
    parser.add_argument("--plaintext-loopback", action="store_true", help="remote: no TLS, loopback only (tests)")
    parser.add_argument("--max-requests", type=int, default=4, help="remote: requests served at once")
    parser.add_argument("--max-request-mb", type=int, default=8192, help="remote: bytes uploaded per request")
    parser.add_argument("--workspace-ttl", type=float, default=900.0, help="remote: an unused workspace goes after")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone (default: parent)")
    parser.add_argument("--warm", action="store_true", help="outlive the parent; serve brokers holding the lease")
    parser.add_argument("--idle-timeout", type=float, default=300.0, help="a warm runner leaves after this idle time")
    args = parser.parse_args(argv)
    if args.listen:
        import grpc

        from .remote import serve_remote

        args.framework_name = package[1] if len(package) > 1 else "runner"
        return serve_remote(args, make_runner, grpc)
    if not args.socket_dir:
        parser.error("--socket-dir or --listen is required")
    socket_dir = os.path.abspath(args.socket_dir)
    runner = None

    def own_dirs():
        inbox = runner._inbox if runner is not None else None
        # the broker's private directory for this runner, removed only when the broker is gone
        return [inbox, socket_dir if os.path.basename(socket_dir).startswith("mmbroker-") else None]

    watch = None
    if args.warm:  # tied to the broker of each call instead of to the parent (lifetime.py)
        watch = lifetime.CallWatch(own_dirs, os.path.join(socket_dir, "record.json"))
    else:
        lifetime.ParentWatch(args.parent_pid or os.getppid(), own_dirs).start()

    import grpc

    stop_event = threading.Event()
    runner = make_runner()
    server = grpc_server(grpc, Servicer(runner, grpc, stop_event, watch), args.workers, rpc.GRPC_OPTIONS)
    sock = os.path.join(socket_dir, "%s-%d.sock" % (runner.framework, os.getpid()))
    if server.add_insecure_port("unix:" + sock) == 0:
        sys.stderr.write("could not bind unix:%s\n" % sock)
        return 3
    server.start()
    stop_on_signals(stop_event)
    sys.stdout.write(rpc.handshake_line(sock) + "\n")
    sys.stdout.flush()
    if watch is not None:
        _serve_warm(stop_event, watch, socket_dir, args.idle_timeout)
        server.stop(grace=0.5).wait(2)
        lifetime.exit_now(own_dirs(), 0)  # its folder (socket, record, lease) goes with it
    while not stop_event.wait(0.2):
        pass
    server.stop(grace=0.5).wait(2)
    lifetime.exit_now([runner._inbox], 0, take_children=False)


def grpc_server(grpc, servicer, workers, options, maximum_concurrent_rpcs=None):
    """A gRPC server (not started) with the runner service `servicer` and the health service."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=options,
                         maximum_concurrent_rpcs=maximum_concurrent_rpcs)  # fmt: skip
    server.add_generic_rpc_handlers(
        (
            rpc.generic_handler(grpc, rpc.SERVICE, rpc.METHODS, servicer),
            rpc.generic_handler(grpc, rpc.HEALTH_SERVICE, rpc.HEALTH_METHODS, Health()),
        )
    )
    return server


def stop_on_signals(stop_event):
    """SIGTERM and SIGINT set `stop_event`: the serving loop then stops the server."""

    def on_signal(signum, frame):
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _serve_warm(stop_event, watch, socket_dir, idle_timeout):
    """Serve until idle, retired or stopped; the broker's stdout pipe is gone by then, so the
    standard streams are pointed at the log (stderr) and /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal of the command that started it may close
    lease = os.path.join(socket_dir, "lease")
    held = lifetime.idle_wait(stop_event, watch, lease, socket_dir, idle_timeout)
    sys.stderr.write("warm runner leaving (%s)\n" % ("stopped" if stop_event.is_set() else "idle or retired"))
    return held

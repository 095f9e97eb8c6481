"""The runner protocol, built at import time from the compiled descriptor set `runner.desc`.

Loading a FileDescriptorSet works the same under protobuf 3.x to 7.x, where generated `_pb2`
modules are tied to the release that generated them. Service stubs and handlers are plain gRPC
generic handlers over the message classes.
"""

import os

from google.protobuf import descriptor_pb2, message_factory

PROTOCOL_VERSION = 1
SERVICE = "mmbroker.runner.v1.Runner"
HEALTH_SERVICE = "grpc.health.v1.Health"
ERROR_METADATA_KEY = "mmbroker-error-bin"
HANDSHAKE_PREFIX = "MMBROKER"
# Graph bytes and small tensors travel inline; anything larger goes through workspace files.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
GRPC_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]

_DESC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.desc")


def _load_messages():
    with open(_DESC_PATH, "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    return message_factory.GetMessages(list(fds.file))


_MESSAGES = _load_messages()


class _Namespace(object):
    def __init__(self, package):
        prefix = package + "."
        for full_name, cls in _MESSAGES.items():
            if full_name.startswith(prefix) and "." not in full_name[len(prefix) :]:
                setattr(self, full_name[len(prefix) :], cls)

    def __getattr__(self, name):  # only reached for names the descriptor set lacks
        raise AttributeError("no message %r in the runner protocol" % name)


pb = _Namespace("mmbroker.runner.v1")
health_pb = _Namespace("grpc.health.v1")

# method name -> (request class, response class, request streams, response streams)
METHODS = {
    "Describe": (pb.DescribeRequest, pb.DescribeResponse, False, False),
    "Parse": (pb.ParseRequest, pb.ParseResponse, False, False),
    "Emit": (pb.EmitRequest, pb.EmitResponse, False, False),
    "Save": (pb.SaveRequest, pb.SaveResponse, False, False),
    "Infer": (pb.InferRequest, pb.InferResponse, False, False),
    "Shutdown": (pb.ShutdownRequest, pb.ShutdownResponse, False, False),
    "Upload": (pb.Chunk, pb.FileRef, True, False),
    "Download": (pb.FileRef, pb.Chunk, False, True),
}
HEALTH_METHODS = {
    "Check": (health_pb.HealthCheckRequest, health_pb.HealthCheckResponse, False, False),
}


def _handler(grpc, fn, req_cls, resp_cls, req_stream, resp_stream):
    kw = dict(request_deserializer=req_cls.FromString, response_serializer=resp_cls.SerializeToString)
    if req_stream and not resp_stream:
        return grpc.stream_unary_rpc_method_handler(fn, **kw)
    if resp_stream and not req_stream:
        return grpc.unary_stream_rpc_method_handler(fn, **kw)
    return grpc.unary_unary_rpc_method_handler(fn, **kw)


def generic_handler(grpc, service, methods, impl):
    """A gRPC generic handler routing each method of `methods` to `impl.<method>`."""
    handlers = {}
    for name, (req_cls, resp_cls, req_stream, resp_stream) in methods.items():
        fn = getattr(impl, name, None)
        if fn is not None:
            handlers[name] = _handler(grpc, fn, req_cls, resp_cls, req_stream, resp_stream)
    return grpc.method_handlers_generic_handler(service, handlers)


class Stub(object):
    """Client side: one callable attribute per method, like a generated stub."""

    def __getattr__(self, name):  # only reached for methods the service lacks
        raise AttributeError("no method %r in this service" % name)

    def __init__(self, channel, service=SERVICE, methods=None):
        for name, (req_cls, resp_cls, req_stream, resp_stream) in (methods or METHODS).items():
            path = "/%s/%s" % (service, name)
            kw = dict(request_serializer=req_cls.SerializeToString, response_deserializer=resp_cls.FromString)
            if req_stream:
                call = channel.stream_unary(path, **kw)
            elif resp_stream:
                call = channel.unary_stream(path, **kw)
            else:
                call = channel.unary_unary(path, **kw)
            setattr(self, name, call)


def handshake_line(address):
    """The one line a runner prints on stdout when it is ready: MMBROKER|<protocol>|unix|<path>."""
    return "%s|%d|unix|%s" % (HANDSHAKE_PREFIX, PROTOCOL_VERSION, address)

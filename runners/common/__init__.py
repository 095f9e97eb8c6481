"""Code shared by every runner and by the broker: the wire protocol, errors, tensors, registry.

Everything here must run on each runner's interpreter, CPython 3.6 included, and under every
protobuf release a runner pins, so it uses only the standard library, numpy and protobuf.
"""

"""ONNX files read and written at the protobuf wire level, so that weights are not held twice.

protobuf's Python library reads a whole message into memory and writes one only from memory: an
.onnx file's bytes plus its parsed ModelProto (and, to write, the ModelProto plus its serialized
bytes) hold the weights twice, which no maintained library avoids (onnx.load, onnx.save_model and
onnx_ir all go through them). The few lines here do what the protobuf encoding allows: a model is
read with its large initializers' `raw_data` left in the file (memory-mapped arrays read it where it
lies, one at a time), and written with the graph first and every initializer streamed after it
(the encoding puts no order on fields; a repeated field's entries keep theirs).

Field numbers (onnx.proto): ModelProto.graph = 7; GraphProto.initializer = 5; TensorProto.dims = 1,
data_type = 2, segment = 3, name = 8, raw_data = 9, data_location = 14.
"""

import mmap
import os

import numpy as np

LARGE_BYTES = 1 << 16  # raw data longer than this stays in the file

# TensorProto data types whose raw data numpy reads as it is, little-endian (BOOL, strings, bfloat16
# and the 4- and 8-bit floats are left to onnx.numpy_helper)
_NUMPY_TYPES = {
    1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8", 10: "<f2", 11: "<f8", 12: "<u4", 13: "<u8"
}  # fmt: skip


class WireError(ValueError):
    """The file is not a protobuf message the scanner can walk."""


def _varint(buf, pos, end):
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("truncated or overlong varint at byte %d" % pos)
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, start, end):
    """(field number, wire type, field start, value start, value end) of each field of a message."""
    pos = start
    while pos < end:
        first = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, after = _varint(buf, pos, end)
        elif wire == 1:
            after = pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            after = pos + length
        elif wire == 5:
            after = pos + 4
        else:
            raise WireError("wire type %d at byte %d" % (wire, first))
        if after > end or number == 0:
            raise WireError("field %d at byte %d runs past its message" % (number, first))
        yield number, wire, first, pos, after
        pos = after


def _field(number, payload):
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


class Located(object):
    """An initializer's raw data where it lies in a file."""

    __slots__ = ("path", "name", "dtype", "shape", "offset")

    def __init__(self, path, name, dtype, shape, offset):
        self.path, self.name, self.dtype, self.shape, self.offset = path, name, dtype, shape, offset

    def read(self):
        """A read-only array mapped from the file (no copy; let go, it is unmapped)."""
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape)


def _tensor(buf, start, end, path, found):
    """An initializer's bytes without its raw data when that is large and numpy reads it as it is
    (noted in `found`), else its bytes unchanged."""
    dims, data_type, name, raw, external, segment = [], 0, b"", None, False, False
    for number, wire, _, value, after in _fields(buf, start, end):
        if number == 1 and wire == 0:
            dims.append(_varint(buf, value, after)[0])
        elif number == 1 and wire == 2:
            pos = value
            while pos < after:
                d, pos = _varint(buf, pos, after)
                dims.append(d)
        elif number == 2 and wire == 0:
            data_type = _varint(buf, value, after)[0]
        elif number == 8 and wire == 2:
            name = bytes(buf[value:after])
        elif number == 9 and wire == 2:
            raw = (value, after)
        elif number == 14 and wire == 0:
            external = _varint(buf, value, after)[0] == 1
        elif number == 3:
            segment = True  # a part of a tensor: left to onnx
    dtype = _NUMPY_TYPES.get(data_type)
    if raw is None or external or segment or dtype is None or raw[1] - raw[0] <= LARGE_BYTES:
        return bytes(buf[start:end])
    count = 1
    for d in dims:
        count *= d  # a negative dim reads as 2**64 minus it: no count fits
    if count * np.dtype(dtype).itemsize != raw[1] - raw[0]:
        return bytes(buf[start:end])  # the wrong amount of data: left to the checks that name it
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(buf[start:end])
    found.append(Located(path, text, np.dtype(dtype), tuple(dims), raw[0]))
    return b"".join(bytes(buf[s:e]) for n, _, s, _, e in _fields(buf, start, end) if n != 9)


def _graph(buf, start, end, path, found):
    parts = []
    for number, wire, first, value, after in _fields(buf, start, end):
        if number == 5 and wire == 2:
            parts.append(_field(5, _tensor(buf, value, after, path, found)))
        else:
            parts.append(bytes(buf[first:after]))
    return b"".join(parts)


def scan(path):
    """(the model's bytes without its graph's large raw data, [Located]). Subgraphs' initializers
    (inside If and Loop nodes) are kept as they are. Raises WireError on a file it cannot walk."""
    path = os.path.abspath(path)
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:
            return b"", []
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        found, parts = [], []
        for number, wire, first, value, after in _fields(buf, 0, len(buf)):
            if number == 7 and wire == 2:
                parts.append(_field(7, _graph(buf, value, after, path, found)))
            else:
                parts.append(bytes(buf[first:after]))
        return b"".join(parts), found
    finally:
        buf.close()


def _split_at(message_bytes, number):
    """(the fields numbered below `number`, the others) of a serialized message."""
    low, high = [], []
    for n, _, first, _, after in _fields(message_bytes, 0, len(message_bytes)):
        (low if n < number else high).append(message_bytes[first:after])
    return b"".join(low), b"".join(high)


def raw_size(init):
    """The byte length of an initializer's raw data from its type and dims, or None for a type numpy
    does not read as it is."""
    dtype = _NUMPY_TYPES.get(init.data_type)
    return None if dtype is None else int(np.prod(list(init.dims), dtype=object)) * np.dtype(dtype).itemsize


def write_model(out, model, initializers):
    """Write ModelProto `model`, whose graph holds no initializer, to the open binary file `out`
    with its graph's initializers streamed in: `initializers` gives (TensorProto without data,
    read) in order; read() returns its array, and is called once each, while it is written, for
    the types raw_size() knows, so that one array at a time is held (the others are read first).
    The bytes are those protobuf writes for the whole model (fields in number order)."""
    from onnx import numpy_helper

    plan = []  # (serialized tensor without raw data, raw data length, read) or (whole tensor, None, None)
    for proto, read in initializers:
        size = raw_size(proto)
        if size is None:
            plan.append((numpy_helper.from_array(np.asarray(read()), proto.name).SerializeToString(), None, None))
        else:
            plan.append((proto.SerializeToString(), size, read))
    sizes = []
    for head, size, _ in plan:
        body = len(head) if size is None else len(head) + 1 + len(encode_varint(size)) + size
        sizes.append(len(encode_varint(5 << 3 | 2)) + len(encode_varint(body)) + body)
    graph_low, graph_high = _split_at(model.graph.SerializeToString(), 5)
    rest = type(model)()
    rest.CopyFrom(model)
    rest.ClearField("graph")
    model_low, model_high = _split_at(rest.SerializeToString(), 7)
    out.write(model_low)
    out.write(encode_varint(7 << 3 | 2) + encode_varint(len(graph_low) + sum(sizes) + len(graph_high)))
    out.write(graph_low)
    for head, size, read in plan:
        body = len(head) if size is None else len(head) + 1 + len(encode_varint(size)) + size
        out.write(encode_varint(5 << 3 | 2) + encode_varint(body) + head)
        if size is not None:
            array = np.ascontiguousarray(read())
            if array.nbytes != size:
                raise ValueError("array of %d bytes for %d" % (array.nbytes, size))
            out.write(encode_varint(9 << 3 | 2) + encode_varint(size))
            out.write(array.astype(array.dtype.newbyteorder("<"), copy=False).reshape(-1).view(np.uint8).data)
            del array
    out.write(graph_high)
    out.write(model_high)

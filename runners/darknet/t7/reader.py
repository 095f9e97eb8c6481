"""Torch7's binary serialization (`torch.save(file, obj)`, torch/File.lua), read without Lua.

Every object is an int32 type tag, then:
  0 nil; 1 number (float64); 2 string (int32 length, bytes); 5 boolean (int32);
  3 table: int32 reference index; the first time an index appears, int32 pair count and that many
    (key, value) objects; later, the index alone (a reference to the same table);
  4 torch object: int32 reference index; the first time, a version string ("V 1") and the class
    name (older files: the class name alone), then the class's own data: a Storage writes int64 size
    and the raw elements, a Tensor int32 ndim, int64 sizes, int64 strides, int64 1-based storage
    offset and its Storage object; any other class (nn modules) writes its fields as one table;
  6, 7, 8 Lua functions (bytecode): refused, nothing runs.
Longs are 8 bytes (torch.save's default on 64-bit Linux), little-endian.

The maintained readers of this format on PyPI (torchfile, 2017) are unmaintained; this one bounds
every length by the bytes left, so a damaged or hostile file fails with `corrupt-model` naming the
offset instead of allocating what it claims.
"""

import numpy as np

from runners.common.errors import RunnerError

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN, FUNCTION, LEGACY_RECUR_FUNCTION, RECUR_FUNCTION = range(9)
ELEMENT = {
    "Double": "<f8", "Float": "<f4", "Cuda": "<f4", "Half": "<f2", "Byte": "u1", "Char": "i1", "Short": "<i2",
    "Int": "<i4", "Long": "<i8",
}  # fmt: skip
MAX_DEPTH = 200


class TorchObject(object):
    """An object of a Torch class other than Tensor/Storage (an nn module): class name and fields."""

    def __init__(self, class_name, version):
        self.class_name = class_name
        self.version = version
        self.fields = {}

    def get(self, key, default=None):
        return self.fields.get(key, default) if isinstance(self.fields, dict) else default

    def __repr__(self):
        return "<%s>" % self.class_name


class Storage(object):
    def __init__(self, array):
        self.array = array


def element_type(class_name, suffix):
    """'Float' for 'torch.FloatTensor' with suffix 'Tensor' (also cuda.* and torch.Cuda*), else None."""
    for prefix in ("torch.", "torch.Cuda", "cutorch."):
        if class_name.startswith(prefix) and class_name.endswith(suffix):
            kind = class_name[len(prefix) : -len(suffix)] or "Cuda"
            if kind in ELEMENT:
                return kind
    return None


class Reader(object):
    def __init__(self, data, path):
        self.data = memoryview(data)
        self.path = path
        self.pos = 0
        self.memo = {}
        self.depth = 0

    def fail(self, message, hint="the file is truncated or not a Torch7 binary .t7; save it again with torch.save"):
        return RunnerError("corrupt-model", "at byte %d: %s" % (self.pos, message), file=self.path, hint=hint)

    def _take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail("%s needs %d bytes, %d are left" % (what, n, len(self.data) - self.pos))
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self):
        return int(np.frombuffer(self._take(4, "an int"), "<i4")[0])

    def long(self):
        return int(np.frombuffer(self._take(8, "a long"), "<i8")[0])

    def longs(self, n):
        return [int(v) for v in np.frombuffer(self._take(8 * n, "%d longs" % n), "<i8")]

    def string(self):
        n = self.int()
        return bytes(self._take(n, "a string")).decode("utf-8", "replace")

    def read(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("objects nested more than %d deep" % MAX_DEPTH)
        try:
            return self._read()
        finally:
            self.depth -= 1

    def _read(self):
        start = self.pos
        kind = self.int()
        if kind == NIL:
            return None
        if kind == NUMBER:
            return float(np.frombuffer(self._take(8, "a number"), "<f8")[0])
        if kind == STRING:
            return self.string()
        if kind == BOOLEAN:
            return self.int() != 0
        if kind == TABLE:
            return self._table()
        if kind == TORCH:
            return self._torch()
        if kind in (FUNCTION, LEGACY_RECUR_FUNCTION, RECUR_FUNCTION):
            self.pos = start
            raise RunnerError(
                "unsafe-model",
                "at byte %d: a Lua function (bytecode); functions are not read and no Lua runs" % start,
                file=self.path,
                hint="save the network without closures (e.g. after net:clearState(), with plain nn modules)",
            )
        self.pos = start
        raise self.fail("unknown object type %d" % kind)

    def _table(self):
        index = self.int()
        if index in self.memo:
            return self.memo[index]
        table = {}
        self.memo[index] = table
        count = self.int()
        if count < 0 or count * 8 > len(self.data) - self.pos:
            raise self.fail("a table of %d entries" % count)
        for _ in range(count):
            key = self.read()
            if isinstance(key, (dict, list, TorchObject, Storage, np.ndarray)):
                key = "<%s key at %d>" % (type(key).__name__, self.pos)
            table[key] = self.read()
        return table

    def _torch(self):
        index = self.int()
        if index in self.memo:
            return self.memo[index]
        version = self.string()
        if version.startswith("V "):
            class_name = self.string()
        else:
            class_name, version = version, "V 0"
        storage_kind = element_type(class_name, "Storage")
        tensor_kind = element_type(class_name, "Tensor")
        if storage_kind is not None:
            out = self._storage(storage_kind)
        elif tensor_kind is not None:
            out = self._tensor(class_name)
        else:
            out = TorchObject(class_name, version)
            self.memo[index] = out
            out.fields = self.read()
            return out
        self.memo[index] = out
        return out

    def _storage(self, kind):
        dtype = np.dtype(ELEMENT[kind])
        size = self.long()
        raw = self._take(size * dtype.itemsize, "a %s storage of %d elements" % (kind, size))
        return Storage(np.frombuffer(raw, dtype))

    def _tensor(self, class_name):
        ndim = self.int()
        if not 0 <= ndim <= 16:
            raise self.fail("a tensor of %d dimensions" % ndim)
        sizes, strides = self.longs(ndim), self.longs(ndim)
        offset = self.long() - 1
        storage = self.read()
        if ndim == 0 or storage is None:
            return np.zeros([0], np.float32)
        if not isinstance(storage, Storage):
            raise self.fail("%s's storage is a %s" % (class_name, type(storage).__name__))
        data = storage.array
        if any(s < 0 for s in sizes) or any(s < 0 for s in strides) or offset < 0:
            raise self.fail("%s with sizes %s, strides %s, offset %d" % (class_name, sizes, strides, offset + 1))
        last = offset + sum((n - 1) * s for n, s in zip(sizes, strides)) if all(sizes) else offset - 1
        if last >= data.size:
            raise self.fail("%s %s reads element %d of a storage of %d" % (class_name, sizes, last, data.size))
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=sizes, strides=[s * data.itemsize for s in strides], writeable=False
        )
        return np.array(view, dtype=np.float32 if data.dtype.kind == "f" else data.dtype)


def read(path):
    """The root object of the .t7 at `path`."""
    from runners.common.loading import require_file

    require_file(path, "Torch7 .t7")
    with open(path, "rb") as f:
        data = f.read()
    reader = Reader(data, path)
    root = reader.read()
    if reader.pos != len(data):
        raise RunnerError(
            "corrupt-model",
            "%d bytes after the end of the saved object (at byte %d)" % (len(data) - reader.pos, reader.pos),
            file=path,
            hint="the file holds more than one object or is damaged; save the network alone with torch.save",
        )
    return root

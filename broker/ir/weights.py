"""Weights read only where a pass needs them.

The IR's weights are an uncompressed `.npz` (a zip of `.npy` files, stored as they are). The
broker's passes work on the graph: an initializer larger than SMALL_BYTES is a *stub* in the
in-memory model, a TensorProto with its name, type and dims whose data is ONNX external data
pointing at the array's bytes inside the `.npz` (`location` the file's absolute path, `offset`,
`length`). onnx-ir reads such a tensor as an `ExternalTensor`, memory-mapped on first use, so
onnxscript's constant folding reads exactly the weights it folds. Smaller initializers (shapes,
axes, scales: what shape inference and the rewrites look at) are read into the graph.

When the IR is written, a graph whose initializers are all unchanged stubs of one file that holds
nothing else hands that file on as it is (a hard link where it can be); otherwise a new `.npz` is
written by copying the unchanged arrays' bytes from their file in chunks, without decoding them.

The ONNX checker and shape inference cannot take stubs (the checker wants a relative location
that exists, shape inference may try to read the data), so they run on a copy of the graph in
which stubs carry no data (`without_data`, `for_checker`) and the stubs are put back by name
(`restore`). Nothing of this is in a library: onnx's external-data helpers read whole files into
TensorProtos, and numpy does not memory-map members of an `.npz`.
"""

from __future__ import annotations

import os
import shutil
import struct
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from runners.common import ir as common_ir
from runners.common.tensors import atomic_write

SMALL_BYTES = 1 << 16  # initializers up to this size are read into the graph
CHUNK = 8 << 20


@dataclass(frozen=True)
class Member:
    """One array of an .npz: where its bytes are (offset -1: not stored as plain bytes)."""

    name: str
    offset: int
    nbytes: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool

    @property
    def mappable(self) -> bool:
        """Stored as plain little-endian C-order bytes: usable as ONNX external data."""
        return self.offset >= 0 and not self.fortran and self.dtype.byteorder in ("<", "=", "|")


class NpzIndex:
    """Where each array of an uncompressed .npz is, read from the zip directory and the .npy
    headers only. Raises ValueError for a file that is not such an .npz (or holds pickles)."""

    def __init__(self, path: str | Path) -> None:
        self.path = os.path.abspath(path)
        st = os.stat(self.path)
        self.stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        self.members: dict[str, Member] = {}
        with zipfile.ZipFile(self.path) as zf, open(self.path, "rb") as f:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                self.members[name] = self._member(zf, f, info, name, st.st_size)
        self.by_offset = {m.offset: m for m in self.members.values() if m.offset >= 0}

    @staticmethod
    def _member(zf: zipfile.ZipFile, f: Any, info: zipfile.ZipInfo, name: str, size: int) -> Member:
        if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"array '{name}': damaged zip entry")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            shape, fortran, dtype = _read_header(f)
            offset = f.tell()
        else:  # compressed (not written by mmbroker): read through zipfile when needed
            with zf.open(info) as stream:
                shape, fortran, dtype = _read_header(stream)
            offset = -1
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset >= 0 and offset + nbytes > size:
            raise ValueError(f"array '{name}' needs {nbytes} bytes; the file is cut short")
        return Member(name, offset, nbytes, dtype, tuple(shape), fortran)

    def read(self, name: str) -> np.ndarray:
        """The array `name`, read into memory."""
        m = self.members[name]
        if m.offset < 0:
            with np.load(self.path, allow_pickle=False) as data:
                return np.asarray(data[name])
        with open(self.path, "rb") as f:
            f.seek(m.offset)
            buf = bytearray(m.nbytes)
            if f.readinto(buf) != m.nbytes:
                raise ValueError(f"array '{name}': the file is cut short")
        arr = np.frombuffer(buf, dtype=m.dtype)
        return arr.reshape(m.shape, order="F" if m.fortran else "C")


def _read_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = fmt.read_array_header_2_0(f)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (pickles), which are not read")
    return tuple(shape), bool(fortran), dtype


_indexes: dict[str, NpzIndex] = {}
_lock = threading.Lock()


def index_npz(path: str | Path) -> NpzIndex:
    """The index of `path`, made once per version of the file."""
    path = os.path.abspath(path)
    st = os.stat(path)
    with _lock:
        found = _indexes.get(path)
        if found is not None and found.stamp == (st.st_ino, st.st_size, st.st_mtime_ns):
            return found
    index = NpzIndex(path)
    with _lock:
        _indexes[path] = index
    return index


# -- stubs ------------------------------------------------------------------------------------
class _Header:
    """The shape and dtype of a member, for common_ir's weight check (which reads only those)."""

    def __init__(self, m: Member) -> None:
        self.shape, self.dtype = m.shape, m.dtype


def attach(graph: bytes | onnx.ModelProto, index: NpzIndex) -> onnx.ModelProto:
    """The model of IR graph bytes (initializers without data) with its weights from `index`:
    small ones read, large ones as stubs. Raises KeyError (an initializer without weights) and
    common_ir.WeightsMismatch as common_ir.join does."""
    model = common_ir.model_of(graph)
    for init in model.graph.initializer:
        if init.name not in index.members:
            raise KeyError(init.name)
        m = index.members[init.name]
        common_ir.check_weight(init, _Header(m))
        if m.nbytes > SMALL_BYTES and m.mappable and init.data_type in common_ir._PLAIN_TYPES:
            _make_stub(init, index.path, m)
        else:
            init.CopyFrom(numpy_helper.from_array(index.read(m.name), init.name))
    return model


def _make_stub(init: onnx.TensorProto, path: str, m: Member) -> None:
    common_ir.clear_data(init)
    init.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", path), ("offset", str(m.offset)), ("length", str(m.nbytes))):
        init.external_data.add(key=key, value=value)


def stub_source(init: onnx.TensorProto) -> tuple[NpzIndex, Member] | None:
    """The .npz array a stub stands for, or None for an initializer that holds its data."""
    if init.data_location != onnx.TensorProto.EXTERNAL:
        return None
    info = {e.key: e.value for e in init.external_data}
    try:
        index = index_npz(info["location"])
        m = index.by_offset[int(info.get("offset") or 0)]
    except (KeyError, ValueError, OSError):
        return None
    return (index, m) if m.nbytes == int(info.get("length") or m.nbytes) else None


def stubs(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {i.name: i for i in model.graph.initializer if stub_source(i) is not None}


def array_of(init: onnx.TensorProto) -> np.ndarray:
    """An initializer's value, read from its .npz when it is a stub."""
    src = stub_source(init)
    return src[0].read(src[1].name) if src is not None else numpy_helper.to_array(init)


class LazyArrays(Mapping[str, np.ndarray]):
    """{initializer name: value} of a graph, each read on first access."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self._inits = {i.name: i for i in graph.initializer}
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            self._read[name] = array_of(self._inits[name])
        return self._read[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._read[name] = value
        self._inits.setdefault(name, onnx.TensorProto(name=name))

    def __contains__(self, name: object) -> bool:  # without reading it
        return name in self._inits or name in self._read

    def __iter__(self) -> Iterator[str]:
        return iter(self._inits)

    def __len__(self) -> int:
        return len(self._inits)


def _copy(model: onnx.ModelProto, change: Any) -> onnx.ModelProto:
    found = stubs(model)
    if not found:
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for init in out.graph.initializer:
        if init.name in found:
            change(init)
    return out


_drop_data = common_ir.clear_data


def _empty(init: onnx.TensorProto) -> None:
    _drop_data(init)
    del init.dims[:]
    init.dims.append(0)


def without_data(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose stubs have names, types and dims but no data (for shape inference and the
    version converter, which read only small constants); the model itself when it has no stubs."""
    return _copy(model, _drop_data)


def for_checker(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy the ONNX checker takes: stubs as empty tensors (it checks data against dims)."""
    return _copy(model, _empty)


def restore(model: onnx.ModelProto, found: dict[str, onnx.TensorProto]) -> onnx.ModelProto:
    """Put the stubs `found` back into `model` (made from `without_data`) by name."""
    for init in model.graph.initializer:
        stub = found.get(init.name)
        if stub is not None and not init.raw_data and init.data_location != onnx.TensorProto.EXTERNAL:
            init.CopyFrom(stub)
    return model


def infer_shapes(model: onnx.ModelProto, **kw: Any) -> onnx.ModelProto:
    """onnx's shape inference on a model with stubs."""
    return restore(onnx.shape_inference.infer_shapes(without_data(model), **kw), stubs(model))


# -- writing ----------------------------------------------------------------------------------
def graph_only(model: onnx.ModelProto) -> onnx.ModelProto:
    """The IR graph as written to `<stem>.pb`: every initializer without data."""
    out = onnx.ModelProto()
    out.CopyFrom(without_data(model))
    for init in out.graph.initializer:
        if init.raw_data or init.ByteSize() > 64 or init.data_location == onnx.TensorProto.EXTERNAL:
            _drop_data(init)
    return out


def handed_on(model: onnx.ModelProto) -> NpzIndex | None:
    """The .npz that holds exactly this model's weights, unchanged, under their names; or None.
    The large ones are its stubs; the small ones, read into the graph, must equal its arrays."""
    sources = {}
    small = []
    for init in model.graph.initializer:
        src = stub_source(init)
        if src is None:
            small.append(init)
        elif src[1].name != init.name:
            return None
        else:
            sources[src[0].path] = src[0]
    if len(sources) != 1:
        return None
    [index] = sources.values()
    if {i.name for i in model.graph.initializer} != set(index.members):
        return None
    for init in small:
        m = index.members[init.name]
        if m.nbytes > SMALL_BYTES or init.data_location == onnx.TensorProto.EXTERNAL:
            return None
        mine, theirs = numpy_helper.to_array(init), index.read(init.name)
        if mine.dtype != theirs.dtype or mine.shape != theirs.shape or mine.tobytes() != theirs.tobytes():
            return None
    return index


def write_weights(model: onnx.ModelProto, path: str | Path) -> str:
    """Write the model's weights to the .npz `path` (atomically); returns "handed on" when the
    parser's file was passed on as it is, "written" otherwise."""
    path = os.path.abspath(path)
    index = handed_on(model) if model.graph.initializer else None
    if index is not None:
        if index.path != path:
            atomic_write(path, lambda tmp: _link_or_copy(index.path, tmp))
        return "handed on"
    atomic_write(path, lambda tmp: _write_npz(model, tmp))
    return "written"


def _link_or_copy(src: str, tmp: str) -> None:
    os.unlink(tmp)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)


def _write_npz(model: onnx.ModelProto, tmp: str) -> None:
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for init in model.graph.initializer:
            src = stub_source(init)
            if src is not None and src[1].offset >= 0:
                index, m = src
                header = {"descr": np.lib.format.dtype_to_descr(m.dtype), "fortran_order": m.fortran,
                          "shape": m.shape}  # fmt: skip
                with zf.open(init.name + ".npy", "w", force_zip64=True) as out:
                    _write_header(out, header)
                    with open(index.path, "rb") as f:
                        f.seek(m.offset)
                        left = m.nbytes
                        while left:
                            block = f.read(min(CHUNK, left))
                            if not block:
                                raise ValueError(f"array '{m.name}' of {index.path}: the file is cut short")
                            out.write(block)
                            left -= len(block)
                continue
            try:
                arr = array_of(init)
            except Exception as exc:
                raise common_ir.BadTensor(
                    "initializer '%s' cannot be read: %s: %s" % (init.name, type(exc).__name__, exc)
                ) from exc
            with zf.open(init.name + ".npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(arr), allow_pickle=False)


def _write_header(out: Any, header: dict[str, Any]) -> None:
    try:
        np.lib.format.write_array_header_1_0(out, header)
    except ValueError:
        np.lib.format.write_array_header_2_0(out, header)

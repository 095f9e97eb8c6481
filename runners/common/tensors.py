"""numpy arrays <-> protocol Tensor messages, and atomic file writes."""

import hashlib
import io
import os
import sys
import tempfile

import numpy as np

from .rpc import pb

INLINE_LIMIT = 16 * 1024 * 1024  # larger tensors travel as .npy files in the workspace


def to_proto(name, array, workspace=None):
    array = np.asarray(array, order="C")  # ascontiguousarray would make 0-d arrays 1-d
    if workspace and array.nbytes > INLINE_LIMIT:
        path = os.path.join(workspace, "tensor-%s.npy" % hashlib.sha1(name.encode()).hexdigest()[:16])
        atomic_save_npy(path, array)
        return pb.Tensor(name=name, dtype=array.dtype.name, shape=list(array.shape), path=path)
    return pb.Tensor(
        name=name,
        dtype=array.dtype.name,
        shape=list(array.shape),
        data=array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(),
    )


def from_proto(tensor):
    if tensor.path:
        return np.load(tensor.path, allow_pickle=False)
    dtype = np.dtype(tensor.dtype).newbyteorder("<")
    return (
        np.frombuffer(tensor.data, dtype=dtype).reshape(tuple(tensor.shape)).astype(np.dtype(tensor.dtype), copy=True)
    )


def atomic_write(path, write):
    """Call write(tmp_path), then rename into place: no half-written file survives a failure."""
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".part", dir=d)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def link_or_copy(src, dst):
    """Put the file `src` at `dst` (atomic_write's placeholder) as a hard link to it, where the two
    are on one filesystem: an emitted model moved into its output folder is not written again
    (VGG-19's 548 MB took a third of a second to copy and as much memory in the page cache);
    elsewhere, a copy. Nothing writes a file in place after it is made (atomic_write renames new
    files over old ones), so the two names never see a change made through the other."""
    import shutil

    if os.path.exists(dst):
        os.unlink(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def atomic_save_npy(path, array):
    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)

    return atomic_write(path, write)


def save_npz(path, arrays):
    """Uncompressed .npz keyed by name (no pickle), written atomically."""

    return save_npz_items(path, [(k, lambda v=v: v) for k, v in arrays.items()])


def save_npz_items(path, items):
    """save_npz for (name, read) pairs: each array is made by read(), written and let go in turn,
    so that writing holds one array at a time (np.savez writes members the same way)."""
    import zipfile

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, read in items:
                with zf.open(name + ".npy", "w", force_zip64=True) as f:
                    write_npy(f, read())

    return atomic_write(path, write)


def write_npy(f, array):
    """np.lib.format.write_array for a zip member: a large C-order array is written from its own
    memory in 16 MB slices, where numpy hands the zip file a new 16 MB copy of each (new memory is
    slow to fault in: writing VGG-19's 548 MB took 0.4-0.9 s numpy's way, 0.25-0.35 s this way)."""
    array = np.asanyarray(array)
    if array.dtype.hasobject:
        raise ValueError("an array of Python objects is not written (it would need pickle)")
    if sys.version_info[0] < 3 or not array.flags.c_contiguous or array.nbytes < (1 << 20):
        np.lib.format.write_array(f, array, allow_pickle=False)
        return
    try:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    except ValueError:  # a header too long for format 1.0
        np.lib.format.write_array(f, array, allow_pickle=False)
        return
    f.write(header.getvalue())
    view = memoryview(array.reshape(-1).view(np.uint8))
    step = 1 << 24
    for i in range(0, len(view), step):
        f.write(view[i : i + step])


def load_npz(path):
    """{name: array} of an .npz. A member stored uncompressed (what save_npz and the broker write)
    is memory-mapped copy-on-write instead of read: the arrays are the file's cached pages, shared
    with the page cache, and writing to one changes neither the file nor another reader. Reading
    548 MB of VGG-19 weights into new memory took over a second on a 2-core machine; mapping them
    takes milliseconds. Other members (compressed, Fortran order, tiny) are read as np.load does."""
    import zipfile

    out = {}
    with np.load(path, allow_pickle=False) as data:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as f:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                array = _mapped_member(path, f, info) if name in data.files else None
                out[name] = array if array is not None else data[name]
    return out


MAP_MIN_BYTES = 1 << 16  # smaller members are read: a mapping costs a file descriptor's worth of setup


def _mapped_member(path, f, info):
    """A stored .npy member of the zip `f` as a copy-on-write memory map, or None when it cannot be
    mapped (compressed, an object or Fortran-order array, small)."""
    import struct
    import zipfile

    if info.compress_type != zipfile.ZIP_STORED or info.file_size < MAP_MIN_BYTES:
        return None
    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    f.seek(start)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    except ValueError:
        return None
    offset = f.tell()
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if dtype.hasobject or fortran or nbytes == 0 or offset - start + nbytes != info.file_size:
        return None
    return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=tuple(shape))


def _files_of(path):
    """(relative name, full path) of a file, or of every file in a folder (an .mlpackage, a
    SavedModel), in a stable order."""
    if not os.path.isdir(path):
        return [("", path)]
    found = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            found.append((os.path.relpath(full, path), full))
    return found


def file_ref(path, role):
    """A file (or folder) a response names: its path and size. No digest: the broker reads these
    files where they are; what travels to or from a remote runner is digested as it is sent
    (runners/common/remote.py), so hashing every output here only read the weights once more."""
    size = sum(os.path.getsize(full) for _, full in _files_of(path))
    return pb.FileRef(path=os.path.abspath(path), role=role, size=size)

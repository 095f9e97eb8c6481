"""numpy arrays <-> protocol Tensor messages, and atomic file writes."""

import hashlib
import os
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


def atomic_save_npy(path, array):
    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)

    return atomic_write(path, write)


def save_npz(path, arrays):
    """Uncompressed .npz keyed by name (no pickle), written atomically."""

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)


def save_npz_items(path, items):
    """save_npz for (name, read) pairs: each array is made by read(), written and let go in turn,
    so that writing holds one array at a time (np.savez writes members the same way)."""
    import zipfile

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, read in items:
                with zf.open(name + ".npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(read()), allow_pickle=False)

    return atomic_write(path, write)


def load_npz(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


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
    h = hashlib.sha256()
    size = 0
    for rel, full in _files_of(path):
        if rel:
            h.update(rel.encode("utf-8") + b"\0")
        with open(full, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        size += os.path.getsize(full)
    return pb.FileRef(path=os.path.abspath(path), role=role, size=size, sha256=h.hexdigest())

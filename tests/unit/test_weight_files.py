"""The runners' weight files (runners/common/tensors.py): an .npz written by save_npz reads back the
same arrays; its large stored members are memory-mapped copy-on-write (a write changes neither the
file nor another reader); a file is placed by hard link where it can be."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from runners.common import tensors

pytestmark = pytest.mark.unit

ARRAYS = {
    "big": np.random.RandomState(0).rand(700, 500).astype(np.float32),
    "fortran": np.asfortranarray(np.random.RandomState(1).rand(600, 600)),
    "scalar": np.array(3, dtype=np.int64),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "big_endian": np.arange(300000, dtype=">f4"),
    "int8": np.arange(2**18, dtype=np.int8),
    "strided": np.arange(2**20, dtype=np.float32)[::2],
}


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def test_npz_round_trip_and_mapping(tmp_path):
    path = str(tmp_path / "w.npz")
    tensors.save_npz(path, ARRAYS)
    with np.load(path, allow_pickle=False) as plain:  # numpy reads what we write
        assert all(same(plain[k], v) for k, v in ARRAYS.items())
    loaded = tensors.load_npz(path)
    assert set(loaded) == set(ARRAYS) and all(same(loaded[k], v) for k, v in ARRAYS.items())
    assert isinstance(loaded["big"], np.memmap) and isinstance(loaded["int8"], np.memmap)
    assert not isinstance(loaded["fortran"], np.memmap) and loaded["scalar"].shape == ()
    loaded["big"][0, 0] = -1.0  # copy-on-write: the file and a second reader keep the value
    assert tensors.load_npz(path)["big"][0, 0] == ARRAYS["big"][0, 0]


def test_compressed_members_are_read(tmp_path):
    path = str(tmp_path / "c.npz")
    with open(path, "wb") as f:
        np.savez_compressed(f, big=ARRAYS["big"])
    with zipfile.ZipFile(path) as zf:
        assert zf.infolist()[0].compress_type == zipfile.ZIP_DEFLATED
    loaded = tensors.load_npz(path)
    assert same(loaded["big"], ARRAYS["big"]) and not isinstance(loaded["big"], np.memmap)


def test_object_arrays_are_not_written(tmp_path):
    with pytest.raises(ValueError, match="pickle"):
        tensors.save_npz(str(tmp_path / "o.npz"), {"o": np.array([{"a": 1}] * 300000, dtype=object)})
    assert not list(tmp_path.iterdir())  # nothing half-written left


def test_link_or_copy(tmp_path):
    src, dst = tmp_path / "a.bin", tmp_path / "b.bin"
    src.write_bytes(b"weights")
    dst.write_bytes(b"placeholder")
    tensors.link_or_copy(str(src), str(dst))
    assert dst.read_bytes() == b"weights" and os.stat(dst).st_ino == os.stat(src).st_ino

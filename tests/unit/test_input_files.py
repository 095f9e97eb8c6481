"""--input files without any runner: pickles never loaded, every input checked against the model
(names, shapes, dtypes) with errors naming the input, the expected and the given shape."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import run_cli

from broker.errors import BrokerError
from broker.inputs import load_inputs, open_input, prepare_inputs

pytestmark = pytest.mark.unit


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickles(tmp_path):
    marker = tmp_path / "ran"
    np.savez(tmp_path / "objects.npz", x=np.array([_Payload(marker)], dtype=object))
    np.save(tmp_path / "objects.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    with open(tmp_path / "raw.npz", "wb") as f:
        pickle.dump({"x": _Payload(marker)}, f)
    return marker, ["objects.npz", "objects.npy", "raw.npz"]


def test_pickled_inputs_are_refused_and_never_loaded(tmp_path):
    marker, names = _pickles(tmp_path)
    for name in names:
        with pytest.raises(BrokerError) as e:
            open_input(tmp_path / name)
        assert e.value.reference == "bad-input" and "contains pickled objects" in str(e.value)
        assert name in str(e.value)
    assert not marker.exists()


def test_given_inputs_are_checked_against_the_model(tmp_path):
    specs = [("x", [None, 3, 8, 8], "float32")]
    np.save(tmp_path / "wrong.npy", np.zeros((1, 4, 8, 8), np.float32))
    with pytest.raises(BrokerError) as e:
        load_inputs(tmp_path / "wrong.npy", specs, 0, model="m.onnx")
    text = str(e.value)
    assert e.value.reference == "bad-shape" and "'x'" in text and "[?, 3, 8, 8]" in text and "[1, 4, 8, 8]" in text
    assert "m.onnx" in text and "wrong.npy" in text
    np.save(tmp_path / "ok.npy", np.zeros((5, 3, 8, 8), np.float64))
    got = load_inputs(tmp_path / "ok.npy", specs, 0)["x"]
    assert got.shape == (5, 3, 8, 8) and got.dtype == np.float32, "a free dimension takes any size; floats cast"
    np.save(tmp_path / "ints.npy", np.zeros((1, 3, 8, 8), np.complex64))
    with pytest.raises(BrokerError) as e:
        load_inputs(tmp_path / "ints.npy", specs, 0)
    assert e.value.reference == "bad-input" and "complex64" in str(e.value)
    np.savez(tmp_path / "keys.npz", y=np.zeros((1, 3, 8, 8), np.float32), x=np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(BrokerError) as e:
        load_inputs(tmp_path / "keys.npz", specs, 0)
    assert e.value.reference == "bad-input" and "unknown ['y']" in str(e.value)
    big = np.array([300], np.int64)
    np.save(tmp_path / "big.npy", big)
    with pytest.raises(BrokerError):
        load_inputs(tmp_path / "big.npy", [("i", [1], "int8")], 0)
    with pytest.raises(BrokerError) as e:
        open_input(tmp_path)
    assert e.value.reference == "not-a-file"


def test_prepared_inputs_say_what_was_chosen(tmp_path):
    prepared = prepare_inputs([("x", [None, 3, None, None], "float32")], None, 0)
    (row,) = prepared.describe()
    assert row["shape"] == [1, 3, 224, 224] and [c["axis"] for c in row["chosen"]] == [0, 2, 3]
    np.save(tmp_path / "x.npy", np.ones((1, 3, 5, 5), np.float32))
    given = prepare_inputs([("x", [None, 3, None, None], "float32")], open_input(tmp_path / "x.npy"), 0)
    assert given.chosen == [] and given.source.endswith("x.npy")


def test_cli_checks_the_input_file_before_any_work(tmp_path):
    """The source does not exist: had the broker started on it, the error would be missing-file."""
    marker, names = _pickles(tmp_path)
    for name in names:
        r = run_cli("convert", "-sf", "onnx", "-in", tmp_path / "nope.onnx", "-df", "onnx", "-om",
                    tmp_path / "o.onnx", "--input", tmp_path / name)  # fmt: skip
        assert r.exit_code == 1 and "Traceback" not in r.stderr
        assert "bad-input" in r.stderr and "pickled" in r.stderr and "missing-file" not in r.stderr
    r = run_cli("infer", tmp_path / "nope.onnx", "--input", tmp_path / "objects.npz")
    assert r.exit_code == 1 and "pickled" in r.stderr
    r = run_cli("compare", tmp_path / "a.onnx", tmp_path / "b.onnx", "--input", tmp_path / "raw.npz")
    assert r.exit_code == 1 and "pickled" in r.stderr
    assert not marker.exists()

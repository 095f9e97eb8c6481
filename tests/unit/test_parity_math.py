from __future__ import annotations

import numpy as np
import pytest

from broker.errors import BrokerError
from broker.parity import compare_arrays, compare_outputs, seeded_inputs

pytestmark = pytest.mark.unit


def test_tolerance_is_elementwise_and_unsorted():
    ref = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    assert compare_arrays(ref + 1e-5, ref, 1e-4, 1e-3)[3]
    # the same values in another order must fail: no sorting
    assert not compare_arrays(ref[::-1].copy(), ref, 1e-4, 1e-3)[3]
    max_abs, max_rel, bad, ok = compare_arrays(ref + np.array([0, 0, 0.1], np.float32), ref, 1e-4, 1e-3)
    assert not ok and bad == 1 and max_abs == pytest.approx(0.1, rel=1e-5) and max_rel == pytest.approx(0.1 / 3, 1e-4)


def test_nan_only_matches_nan():
    a = np.array([np.nan, 1.0])
    assert compare_arrays(a, a.copy(), 0, 0)[3]
    assert not compare_arrays(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), 1, 1)[3]


def test_shape_mismatch_fails_with_note():
    r = compare_outputs([("y", np.zeros((1, 10)))], [("y", np.zeros((10,)))])
    assert not r.passed and "shape" in r.outputs[0].note


def test_output_count_mismatch_is_an_error():
    with pytest.raises(BrokerError):
        compare_outputs([("a", np.zeros(1))], [("a", np.zeros(1)), ("b", np.zeros(1))])


def test_matching_by_name_when_names_agree():
    r = compare_outputs([("b", np.ones(2)), ("a", np.zeros(2))], [("a", np.zeros(2)), ("b", np.ones(2))])
    assert r.passed


def test_seeded_inputs_are_reproducible():
    specs = [("x", [None, 3, 4], "float32"), ("i", [2], "int64")]
    a, b = seeded_inputs(specs, 5), seeded_inputs(specs, 5)
    assert a["x"].shape == (1, 3, 4) and a["x"].dtype == np.float32 and a["i"].dtype == np.int64
    assert np.array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], seeded_inputs(specs, 6)["x"])

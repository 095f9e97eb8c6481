from __future__ import annotations

import numpy as np
import pytest

from broker.errors import BrokerError
from broker.parity import check_tolerances, compare_arrays, compare_outputs, seeded_inputs

pytestmark = pytest.mark.unit


def test_tolerance_is_elementwise_and_unsorted():
    ref = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    assert compare_arrays(ref + 1e-5, ref, 1e-4, 1e-3)[3]
    # the same values in another order must fail: no sorting
    assert not compare_arrays(ref[::-1].copy(), ref, 1e-4, 1e-3)[3]
    max_abs, max_rel, bad, ok = compare_arrays(ref + np.array([0, 0, 0.1], np.float32), ref, 1e-4, 1e-3)
    assert not ok and bad == 1 and max_abs == pytest.approx(0.1, rel=1e-5) and max_rel == pytest.approx(0.1 / 3, 1e-4)


def test_nan_and_inf_fail_unless_allowed_at_the_same_places():
    a = np.array([np.nan, 1.0, np.inf, -np.inf])
    assert not compare_arrays(a, a.copy(), 0, 0)[3], "NaN/Inf never pass by default"
    assert compare_arrays(a, a.copy(), 0, 0, allow_nan=True)[3]
    # allowed only where the other side has the same value: NaN vs a number, +Inf vs -Inf, NaN vs Inf
    for other in ([0.0, 1.0, np.inf, -np.inf], [np.nan, 1.0, -np.inf, -np.inf], [np.nan, 1.0, np.nan, -np.inf]):
        max_abs, _, bad, ok = compare_arrays(a, np.array(other), 1, 1, allow_nan=True)
        assert not ok and bad == 1 and max_abs == np.inf
    # the finite elements are still compared
    assert not compare_arrays(np.array([np.nan, 1.0]), np.array([np.nan, 2.0]), 0, 0, allow_nan=True)[3]


def test_an_all_nan_output_does_not_pass():
    nan = np.full((2, 3), np.nan, np.float32)
    r = compare_outputs([("y", nan)], [("y", nan.copy())])
    o = r.outputs[0]
    assert not r.passed and o.nonfinite == 6 and o.reference_nonfinite == 6 and "--allow-nan" in o.note
    assert r.to_dict()["outputs"][0]["nonfinite"] == 6
    allowed = compare_outputs([("y", nan)], [("y", nan.copy())], allow_nan=True)
    assert allowed.passed and "NaN/Inf: 6 (reference 6)" in allowed.outputs[0].note
    one_side = compare_outputs([("y", nan)], [("y", np.zeros((2, 3), np.float32))], allow_nan=True)
    assert not one_side.passed and one_side.outputs[0].reference_nonfinite == 0


def test_tolerances_must_be_numbers_not_below_zero():
    for atol, rtol in ((-1.0, 0.0), (0.0, float("nan")), (float("inf"), 0.0)):
        with pytest.raises(BrokerError) as e:
            check_tolerances(atol, rtol)
        assert e.value.reference == "bad-option"
    check_tolerances(0.0, 0.0)


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

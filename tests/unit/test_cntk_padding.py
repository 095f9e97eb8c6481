"""CNTK's automatic padding as measured on CNTK 2.7 (1-D convolutions of every size 5-8, kernel 1-5,
stride 1-3, compared against explicit padding); the runner's formula must give pads in the set
CNTK's outputs allow. No CNTK needed here: the measured table is the fixture."""

import pytest

from runners.cntk.padding import auto_pads, padding_plan

# (size, kernel, stride) -> the (lower, upper) pads that reproduce CNTK's output, as measured
MEASURED = {
    (6, 3, 2): {(1, 0), (1, 1)},  # even input, stride 2: CNTK pads the lower side, ONNX SAME_UPPER the upper
    (8, 3, 2): {(1, 0), (1, 1)},
    (8, 5, 2): {(2, 1), (2, 2)},
    (5, 2, 1): {(0, 1)},
    (7, 4, 3): {(1, 2), (1, 3)},
    (6, 3, 3): {(0, 0), (0, 1), (0, 2)},  # the kernel centre moves right by ((6-1) % 3)//2
    (6, 4, 3): {(0, 1), (0, 2), (0, 3)},
    (5, 5, 3): {(2, 1), (2, 2), (2, 3)},
}


@pytest.mark.parametrize("key", sorted(MEASURED))
def test_auto_pads_match_cntk(key):
    size, kernel, stride = key
    assert auto_pads(size, kernel, stride) in MEASURED[key]


def test_negative_pad_crops_where_cntk_starts_inside_the_input():
    assert auto_pads(6, 1, 3) == (-1, -1)  # CNTK reads inputs 1 and 4 of 0..5


def test_padding_plan():
    assert padding_plan([8], [3], [2], [1], [1], [0]) == ("auto", None)
    assert padding_plan([8], [3], [2], [1], [0], [1]) == ("explicit", [(0, 1)])  # ONNX SAME_UPPER
    assert padding_plan([8], [3], [2], [1], [0], [0]) == ("none", None)
    assert padding_plan([2], [3], [1], [1], [1], [1]) == ("explicit", [(1, 1)])  # kernel > input

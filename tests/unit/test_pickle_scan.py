"""The pickle scan names what a stream imports without unpickling it, whatever the protocol."""

from __future__ import annotations

import collections
import os
import pickle

import numpy as np
import pytest

from runners.pytorch import pickle_scan

SYSTEM = f"{os.system.__module__}.system"  # posix.system here


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /nonexistent/never",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_names_the_payload_at_every_protocol(protocol):
    data = pickle.dumps({"w": [1.0, 2.0], "x": _Payload()}, protocol=protocol)
    scan = pickle_scan.scan_stream(data)
    assert scan.parsed
    assert scan.globals == [SYSTEM]
    assert pickle_scan.unsafe(scan, {"collections.OrderedDict"}) == scan.globals


def test_memoized_names_are_followed():
    """Protocol 4 STACK_GLOBAL takes its names from the stack, also when they come from the memo."""
    data = pickle.dumps([collections.OrderedDict(), collections.OrderedDict(), collections.Counter()], protocol=4)
    scan = pickle_scan.scan_stream(data)
    assert scan.globals == ["collections.OrderedDict", "collections.Counter"]
    assert pickle_scan.unsafe(scan, {"collections.OrderedDict", "collections.Counter"}) == []


def test_consecutive_pickles_are_read():
    """A legacy torch.save file is several pickles in a row, then raw bytes."""
    data = pickle.dumps(119547037146038801333356, protocol=2) + pickle.dumps(_Payload(), protocol=2) + b"\x00" * 64
    assert pickle_scan.scan_stream(data).globals == [SYSTEM]


def test_random_bytes_are_no_pickle():
    scan = pickle_scan.scan_stream(b"\x01\x02" + np.random.default_rng(0).bytes(4000))
    assert not scan.parsed and scan.globals == []


def test_scan_does_not_run_the_payload(tmp_path):
    marker = tmp_path / "ran"

    class Touch:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"w": Touch()}))
    assert pickle_scan.scan_file(str(path)).globals
    assert not marker.exists()

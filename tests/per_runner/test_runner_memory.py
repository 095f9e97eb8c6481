"""Peak memory of the runners while they convert and check a model of ~100 MB of weights: every
runner's high-water mark (the kernel's VmHWM) grows by less than twice the weight bytes over what
it held before the command (issue 17: weights read where they lie, written one at a time, loaded
memory-mapped; not copied by each step). The runners are warmed by a tiny conversion first, so the
frameworks' imports are not counted, then their high-water marks are reset (/proc/PID/clear_refs).
Asserts memory, never time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from processes import cmdline, private_pool

pytestmark = [pytest.mark.runner, pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]
MB = 1 << 20


def vgg_like(path: Path, width: int) -> int:
    """A small VGG: two 3x3 convolutions with ReLU, a max pool, three fully connected layers holding
    most of the weights, as VGG's do; seeded weights; returns their bytes."""
    import onnx
    from helpers import onnx_model
    from onnx import helper

    rng = np.random.default_rng(0)

    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / np.prod(shape[1:])))

    inits = [("c1", w(16, 3, 3, 3)), ("c1b", w(16)), ("c2", w(32, 16, 3, 3)), ("c2b", w(32)),
             ("f1", w(width, 32 * 8 * 8)), ("f1b", w(width)), ("f2", w(width, width)), ("f2b", w(width)),
             ("f3", w(10, width)), ("f3b", w(10))]  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "c1", "c1b"], ["a1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("Conv", ["r1", "c2", "c2b"], ["a2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["flat"]),
        helper.make_node("Gemm", ["flat", "f1", "f1b"], ["g1"], transB=1),
        helper.make_node("Relu", ["g1"], ["h1"]),
        helper.make_node("Gemm", ["h1", "f2", "f2b"], ["g2"], transB=1),
        helper.make_node("Relu", ["g2"], ["h2"]),
        helper.make_node("Gemm", ["h2", "f3", "f3b"], ["y"], transB=1),
    ]
    onnx.save(onnx_model(nodes, [("x", [1, 3, 16, 16])], [("y", [1, 10])], inits), str(path))
    return sum(a.nbytes for _, a in inits)


@pytest.fixture
def pool():
    with private_pool("mmb-mem-") as path:
        yield path


def convert(pool: Path, model: Path, dst: str, out: Path) -> None:
    """Convert with the check, in the warm runners of `pool`; the parsed IR is cached beside `pool`."""
    env = {**os.environ, "MMBROKER_KEEP_WARM": "1", "MMBROKER_WARM_DIR": str(pool / "runners"),
           "MMBROKER_IR_CACHE_DIR": str(pool / "ir"), "NO_COLOR": "1"}  # fmt: skip
    r = subprocess.run([*CLI, "convert", "-sf", "onnx", "-in", str(model), "-df", dst, "-om", str(out)], env=env,
                       cwd=str(ROOT), capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "parity: PASS" in r.stdout, r.stdout


def status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for {pid}")


def runners(pool: Path) -> dict[int, str]:
    found = {}
    for rec in pool.glob("runners/*/record.json"):
        data = json.loads(rec.read_text())
        found[data["pid"]] = data.get("framework") or cmdline(data["pid"])
    return found


def reset_peaks(pids) -> dict[int, int]:
    """Each runner's resident memory now, its high-water mark reset to it."""
    held = {}
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        held[pid] = status(pid, "VmRSS")
    return held


def test_runner_peaks_stay_under_twice_the_weights(env_or_skip, pool, tmp_path):
    env_or_skip("onnx")
    env_or_skip("pytorch")
    tiny, big = tmp_path / "tiny.onnx", tmp_path / "big.onnx"
    vgg_like(tiny, 16)
    weights = vgg_like(big, 4096)
    assert 90 * MB < weights < 110 * MB
    convert(pool, tiny, "pytorch", tmp_path / "tiny-out.pth")  # starts both runners
    before = runners(pool)
    assert len(before) == 2, before
    for dst, ext in (("onnx", ".onnx"), ("pytorch", ".pth")):  # parsed once: the second uses the cached IR
        held = reset_peaks(before)
        convert(pool, big, dst, tmp_path / ("big-out" + ext))
        assert runners(pool) == before, "the warm runners were not reused"
        for pid, what in before.items():
            grew = status(pid, "VmHWM") - held[pid]
            assert grew < 2 * weights, (
                f"-df {dst}: the runner {what} (pid {pid}) grew by {grew / MB:.0f} MB at its peak, "
                f"{grew / weights:.2f}x the {weights / MB:.0f} MB of weights"
            )

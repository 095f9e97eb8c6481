"""Peak memory of the runners while they convert and check a model of ~100 MB of weights: every
runner's high-water mark (the kernel's VmHWM) is less than twice the weight bytes above the
same runner's for a tiny model (issue 17: weights read where they lie, written one at a time,
loaded memory-mapped; not copied by each step), so that the frameworks' imports are not counted.
onnxruntime itself, loading and running the model alone, needs about twice the weights (its
prepacked copies of the weights beside the mapped ones): the ONNX runner may hold that and a
quarter of the weights more. Runners are not kept warm: each command starts its own. Asserts
memory, never time."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from processes import peak_memory

pytestmark = [pytest.mark.runner, pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]
MB = 1 << 20
RUNNERS = {"onnx": "-m runners.onnx", "pytorch": "-m runners.pytorch"}
ORT_RUN = """import sys, numpy as np, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
s.run(None, {"x": np.zeros((1, 3, 32, 32), np.float32)})
"""


def vgg_like(path: Path, scale: int) -> int:
    """A small VGG on 32x32 inputs: three blocks of two 3x3 convolutions with ReLU and a max pool,
    then three fully connected layers; as in VGG-19, about 1/6 of the weights in the convolutions and
    the rest in the fully connected layers (`scale` 8: 102 MB; 1: tiny); seeded weights; returns
    their bytes."""
    import onnx
    from helpers import onnx_model
    from onnx import helper

    rng = np.random.default_rng(0)
    inits: list[tuple[str, np.ndarray]] = []
    nodes = []

    def layer(op: str, x: str, shape: tuple[int, ...], **attrs) -> str:
        k = len(nodes)
        fan_in = int(np.prod(shape[1:]))
        inits.append((f"w{k}", rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))))
        inits.append((f"b{k}", np.zeros(shape[0], np.float32)))
        nodes.append(helper.make_node(op, [x, f"w{k}", f"b{k}"], [f"l{k}"], **attrs))
        nodes.append(helper.make_node("Relu", [f"l{k}"], [f"r{k}"]) if op != "Gemm" or shape[0] != 10 else
                     helper.make_node("Identity", [f"l{k}"], ["y"]))  # fmt: skip
        return f"r{k}"

    x, channels = "x", 3
    for block in (8 * scale, 16 * scale, 64 * scale):
        for _ in range(2):
            x, channels = layer("Conv", x, (block, channels, 3, 3), kernel_shape=[3, 3], pads=[1, 1, 1, 1]), block
        nodes.append(helper.make_node("MaxPool", [x], [x + "p"], kernel_shape=[2, 2], strides=[2, 2]))
        x = x + "p"
    nodes.append(helper.make_node("Flatten", [x], ["flat"]))
    x = layer("Gemm", "flat", (256 * scale, channels * 16), transB=1)
    x = layer("Gemm", x, (256 * scale, 256 * scale), transB=1)
    layer("Gemm", x, (10, 256 * scale), transB=1)
    onnx.save(onnx_model(nodes, [("x", [1, 3, 32, 32])], [("y", [1, 10])], inits), str(path))
    return sum(a.nbytes for _, a in inits)


def convert(model: Path, dst: str, out: Path, ir_cache: Path) -> dict[str, int]:
    """Convert with the check; {runner framework: its peak memory}."""
    env = {**os.environ, "MMBROKER_KEEP_WARM": "0", "MMBROKER_IR_CACHE_DIR": str(ir_cache), "NO_COLOR": "1"}
    argv = [*CLI, "convert", "-sf", "onnx", "-in", str(model), "-df", dst, "-om", str(out)]
    r, peaks = peak_memory(argv, env=env, cwd=str(ROOT))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "parity: PASS" in r.stdout, r.stdout
    return {
        fw: max((p for cmd, p in peaks.items() if cmd.endswith(module)), default=0) for fw, module in RUNNERS.items()
    }


def onnxruntime_alone(onnx_env, model: Path) -> int:
    """The peak memory of a process that only loads `model` in onnxruntime and runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    r, peaks = peak_memory([str(onnx_env.python), "-c", ORT_RUN, str(model)], env={**env, **onnx_env.env_vars})
    assert r.returncode == 0, r.stderr
    return max(peaks.values())


def test_runner_peaks_stay_under_twice_the_weights(env_or_skip, tmp_path):
    onnx_env = env_or_skip("onnx")
    env_or_skip("pytorch")
    tiny, big = tmp_path / "tiny.onnx", tmp_path / "big.onnx"
    vgg_like(tiny, 1)
    weights = vgg_like(big, 8)
    assert 90 * MB < weights < 110 * MB
    onnxruntime_needs = onnxruntime_alone(onnx_env, big) - onnxruntime_alone(onnx_env, tiny)
    allowed = {"onnx": max(2 * weights, onnxruntime_needs + weights // 4), "pytorch": 2 * weights}
    base = convert(tiny, "pytorch", tmp_path / "tiny-out.pth", tmp_path / "ir")  # both runners, a tiny model
    assert all(base.values()), base
    for dst, ext in (("onnx", ".onnx"), ("pytorch", ".pth")):  # parsed once: the second uses the cached IR
        peaks = convert(big, dst, tmp_path / ("big-out" + ext), tmp_path / "ir")
        for fw, peak in peaks.items():
            grew = peak - base[fw]
            assert grew < allowed[fw], (
                f"-df {dst}: the {fw} runner peaked {grew / MB:.0f} MB above its peak for a tiny model, "
                f"{grew / weights:.2f}x the {weights / MB:.0f} MB of weights (allowed {allowed[fw] / weights:.2f}x; "
                f"onnxruntime alone {onnxruntime_needs / weights:.2f}x)"
            )

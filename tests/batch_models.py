"""Tiny models for the batch tests: five ONNX graphs with seeded weights (one of them uses an op
Caffe cannot express, so the matrix has a refusal) and the repo's example PyTorch model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from helpers import onnx_model
from onnx import helper as h

ROOT = Path(__file__).resolve().parents[1]


def _models(rng: np.random.Generator) -> dict[str, onnx.ModelProto]:
    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32) * 0.5

    return {
        "gemm_relu": onnx_model(
            [h.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1), h.make_node("Relu", ["g"], ["y"])],
            [("x", [1, 8])], [("y", [1, 4])], [("w", w(4, 8)), ("b", w(4))],
        ),
        "conv_sigmoid": onnx_model(
            [h.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Sigmoid", ["c"], ["y"])],
            [("x", [1, 3, 8, 8])], [("y", [1, 4, 8, 8])], [("w", w(4, 3, 3, 3)), ("b", w(4))],
        ),
        "conv_pool": onnx_model(
            [h.make_node("Conv", ["x", "w"], ["c"]), h.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2],
                                                                 strides=[2, 2])],
            [("x", [1, 2, 9, 9])], [("y", [1, 3, 4, 4])], [("w", w(3, 2, 2, 2))],
        ),
        "mul_add_tanh": onnx_model(
            [h.make_node("Mul", ["x", "s"], ["m"]), h.make_node("Add", ["m", "t"], ["a"]),
             h.make_node("Tanh", ["a"], ["y"])],
            [("x", [1, 4, 5, 5])], [("y", [1, 4, 5, 5])], [("s", w(1, 4, 1, 1)), ("t", w(1, 4, 1, 1))],
        ),
        "matmul_floor_softmax": onnx_model(  # Floor: no Caffe layer computes it
            [h.make_node("MatMul", ["x", "w"], ["m"]), h.make_node("Floor", ["m"], ["e"]),
             h.make_node("Softmax", ["e"], ["y"], axis=-1)],
            [("x", [1, 6])], [("y", [1, 5])], [("w", w(6, 5))],
        ),
    }  # fmt: skip


def write_models(folder: Path, seed: int = 0) -> list[dict]:
    """The model files in `folder`; plan entries for them (name, source, files, options)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, model in _models(np.random.default_rng(seed)).items():
        onnx.save(model, folder / f"{name}.onnx")
        entries.append({"name": name, "source": "onnx", "files": [f"{name}.onnx"]})
    shutil.copy(ROOT / "examples" / "tiny_resnet.pt2", folder / "tiny_resnet.pt2")
    entries.append({"name": "tiny_resnet", "source": "pytorch", "files": ["tiny_resnet.pt2"]})
    return entries

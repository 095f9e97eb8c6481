"""Seeded random weights can make a deep network's outputs tiny (a comparison would then prove
nothing) or huge (float32 rounding alone then exceeds the absolute tolerance near zero). A model's
last weight layer is scaled so that its outputs on seeded input have a standard deviation of about
4, like trained logits. Only the last Conv/Gemm/MatMul feeding the output through positive-
homogeneous ops (ReLU, pooling, reshapes) is scaled, so the model's function changes by a constant
factor only."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

HOMOGENEOUS = {"Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape",
               "Squeeze", "Unsqueeze", "Dropout", "Identity", "Transpose"}  # fmt: skip
WEIGHTED = {"Conv", "Gemm", "MatMul"}


def _last_weighted(model: onnx.ModelProto) -> onnx.NodeProto | None:
    producer = {o: n for n in model.graph.node for o in n.output}
    value = model.graph.output[0].name
    while value in producer:
        node = producer[value]
        if node.op_type in WEIGHTED:
            return node
        if node.op_type not in HOMOGENEOUS:
            return None
        value = node.input[0]
    return None


def _initializer_behind(name: str, model: onnx.ModelProto, inits: dict) -> str | None:
    """The initializer a weight input is, or is reshaped from (the Caffe2 classics reshape their
    Gemm weights), else None."""
    producer = {o: n for n in model.graph.node for o in n.output}
    for _ in range(4):
        if name in inits:
            return name
        node = producer.get(name)
        if node is None or node.op_type not in ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"):
            return None
        name = node.input[0]
    return None


def output_std(model: onnx.ModelProto, seed: int = 0) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inits = {i.name for i in model.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in sess.get_inputs() if i.name not in inits}
    return float(np.std(sess.run(None, feeds)[0]))


def scale_logits(model: onnx.ModelProto, target: float = 4.0) -> onnx.ModelProto:
    node = _last_weighted(model)
    std = output_std(model)
    if node is None or not std or not np.isfinite(std):
        return model
    factor = np.float32(target / std)
    inits = {i.name: i for i in model.graph.initializer}
    for name in node.input[1:3]:
        name = _initializer_behind(name, model, inits)
        if name is not None:
            arr = numpy_helper.to_array(inits[name])
            inits[name].CopyFrom(numpy_helper.from_array((arr * factor).astype(arr.dtype), name))
    return model


def text_lines_image(shape: list[int], seed: int = 0) -> np.ndarray:
    """A white page with rows of dark strokes, normalised as PaddleOCR normalises its input (ImageNet
    mean and std): on random noise a trained text detector sees no text and outputs a flat map."""
    _, c, h, w = shape
    img = np.ones((h, w, c), np.float32)
    rng = np.random.default_rng(seed)
    for y in range(h // 10, h - 12, 16):
        x0, x1 = int(rng.integers(4, w // 5)), int(rng.integers(w // 2, w - 6))
        for x in range(x0, x1, 7):
            img[y : y + 9, x : x + 5] = 0.0
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return ((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)

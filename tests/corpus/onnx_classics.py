"""The ONNX model-zoo classics that the `onnx` wheel ships, with seeded random weights.

`onnx/backend/test/data/light/` holds nine opset-9 Caffe2 exports (AlexNet, SqueezeNet, GoogLeNet
(Inception v1), Inception v2, ResNet-50, ShuffleNet, DenseNet-121, VGG-19, ZFNet-512) whose weights
are made at run time by ConstantOfShape nodes (every weight one constant value). These files are
what other tools wrote, not this project: the graphs are kept as they are (opset 9, initializers
listed as graph inputs, Dropout, the Reshape shapes), except that

- each ConstantOfShape that makes a weight becomes an initializer of seeded random values sized for
  its role (He-scaled convolution and Gemm weights, BatchNorm statistics with a positive variance,
  small biases), so outputs vary and a comparison proves something;
- the final Softmax is removed, so the outputs are logits (a softmax over 1000 classes would hide
  errors under its saturation).

    python tests/corpus/onnx_classics.py OUT_DIR [NAME ...]   # writes OUT_DIR/<name>.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

CLASSICS = [
    "bvlc_alexnet",
    "squeezenet",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "densenet121",
    "vgg19",
    "zfnet512",
]


def source_path(name: str) -> Path:
    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"light_{name}.onnx"


def _consumers(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    out: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for n in graph.node:
        for k, i in enumerate(n.input):
            out.setdefault(i, []).append((n, k))
    return out


def _role(name: str, consumers: dict[str, list[tuple[onnx.NodeProto, int]]]) -> tuple[str, int]:
    """(consumer op and input slot as 'Conv:1', ...) of a weight, looking through Unsqueeze."""
    seen = name
    for _ in range(4):
        users = consumers.get(seen, [])
        if not users:
            return "", 0
        node, slot = users[0]
        if node.op_type in ("Unsqueeze", "Reshape", "Identity") and slot == 0:
            seen = node.output[0]
            continue
        return f"{node.op_type}:{slot}", slot
    return "", 0


def random_weight(shape: list[int], role: str, rng: np.random.Generator) -> np.ndarray:
    shape = [int(d) for d in shape]
    if role in ("Conv:1", "Gemm:1", "Gemm:0", "MatMul:1"):
        fan_in = int(np.prod(shape[1:])) if role.startswith("Conv") else shape[-1] if role == "Gemm:1" else shape[0]
        # Gemm in these graphs has transB=1: B is [out, in]
        if role == "Gemm:1":
            fan_in = shape[1] if len(shape) > 1 else shape[0]
        return (rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32)
    if role == "BatchNormalization:1" or role == "Mul:1":  # scale: below 1, so residual sums do not blow up
        return rng.uniform(0.3, 0.7, shape).astype(np.float32)
    if role == "BatchNormalization:4":  # running variance
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if role == "BatchNormalization:3":  # running mean
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)
    return (rng.standard_normal(shape) * 0.1).astype(np.float32)  # biases, BN shift, Add


def build(name: str, seed: int = 0) -> onnx.ModelProto:
    model = onnx.load(str(source_path(name)))
    g = model.graph
    rng = np.random.default_rng(seed)
    consumers = _consumers(g)
    inits = {i.name: i for i in g.initializer}
    keep_nodes = []
    new_inits: list[onnx.TensorProto] = []
    used_shapes: set[str] = set()
    for node in g.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = numpy_helper.to_array(inits[node.input[0]]).tolist()
            role, _ = _role(node.output[0], consumers)
            new_inits.append(numpy_helper.from_array(random_weight(shape, role, rng), node.output[0]))
            used_shapes.add(node.input[0])
            continue
        keep_nodes.append(node)
    # the small weights stored as initializers (biases) get seeded values too
    for init in list(g.initializer):
        if init.name in used_shapes:
            continue
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size > 1:
            role, _ = _role(init.name, consumers)
            init.CopyFrom(numpy_helper.from_array(random_weight(list(arr.shape), role, rng), init.name))
    still_used = {i for n in keep_nodes for i in n.input}
    kept_inits = [i for i in g.initializer if i.name not in used_shapes or i.name in still_used]
    del g.initializer[:]
    g.initializer.extend(kept_inits + new_inits)
    # initializers stay listed as graph inputs, as the IR-3 originals have them
    input_names = {i.name for i in g.input}
    for t in new_inits:
        if t.name not in input_names:
            g.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    gone = used_shapes - still_used
    kept_inputs = [i for i in g.input if i.name not in gone]
    del g.input[:]
    g.input.extend(kept_inputs)
    # drop the final Softmax: compare logits
    out_names = {o.name for o in g.output}
    softmax = [n for n in keep_nodes if n.op_type == "Softmax" and n.output[0] in out_names]
    for sm in softmax:
        keep_nodes.remove(sm)
        for o in g.output:
            if o.name == sm.output[0]:
                o.name = sm.input[0]
    del g.node[:]
    g.node.extend(keep_nodes)
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:] or CLASSICS:
        onnx.save(build(name), str(out / f"{name}.onnx"))
        print(out / f"{name}.onnx")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Seeded mutations of small models for the fuzz tests: ONNX / IR files (graph .pb + weights .npz)
and Caffe .prototxt text. Each mutation is one kind of damage a user's file can have (flipped bits,
a cut-off file, a garbage op type, attributes of the wrong type, impossible dimensions, a missing
initializer, a cycle, duplicate names, a bad opset import, weights that do not fit). Everything is
derived from one integer seed, so a failing case is reproduced by its name."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx import helper as h

from runners.common import ir as common_ir


def seed_model() -> onnx.ModelProto:
    """A small CNN with a branch, a concat, batch norm, pooling and a classifier head."""
    rng = np.random.default_rng(0)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    inits = {
        "w1": w(8, 3, 3, 3), "b1": w(8), "w2": w(8, 8, 3, 3), "w3": w(8, 16, 1, 1),
        "scale": np.abs(w(8)) + 0.5, "bias": w(8), "mean": w(8), "var": np.abs(w(8)) + 0.5,
        "wf": w(10, 8), "bf": w(10), "shape": np.array([1, -1], np.int64),
    }  # fmt: skip
    nodes = [
        h.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        h.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        h.make_node("Concat", ["p1", "c2"], ["cat"], name="concat", axis=1),
        h.make_node("Conv", ["cat", "w3"], ["c3"], name="conv3"),
        h.make_node("BatchNormalization", ["c3", "scale", "bias", "mean", "var"], ["bn"], name="bn", epsilon=1e-5),
        h.make_node("GlobalAveragePool", ["bn"], ["gap"], name="gap"),
        h.make_node("Reshape", ["gap", "shape"], ["flat"], name="flatten"),
        h.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], name="fc", transB=1),
        h.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]
    graph = h.make_graph(
        nodes,
        "fuzz_seed",
        [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [h.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", common_ir.IR_OPSET)], producer_name="fuzz")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


# -- mutations of the graph (a ModelProto in, serialized bytes out) ----------------------------


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def flip_bits(model: onnx.ModelProto, rng: random.Random) -> bytes:
    data = bytearray(model.SerializeToString())
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate(model: onnx.ModelProto, rng: random.Random) -> bytes:
    data = model.SerializeToString()
    return data[: rng.randrange(1, len(data))]


def garbage_op_type(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """An op type of random bytes (often not UTF-8), or a plausible name no schema has."""
    m = _copy(model)
    node = rng.choice(m.graph.node)
    if rng.random() < 0.5:
        node.op_type = rng.choice(["", "Conv2", "conv", "Relu ", "Unknown", "Loop", "If", "X" * 300])
        return m.SerializeToString()
    old = node.op_type.encode()
    data = m.SerializeToString()
    field = b"\x22" + bytes([len(old)]) + old  # NodeProto.op_type: field 4, length-delimited
    assert field in data
    return data.replace(field, b"\x22" + bytes([len(old)]) + bytes(rng.randrange(256) for _ in old), 1)


def wrong_attribute(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """An attribute whose declared type, value or name is wrong."""
    m = _copy(model)
    node = rng.choice([n for n in m.graph.node if n.attribute])
    attr = rng.choice(node.attribute)
    kind = rng.randrange(5)
    if kind == 0:  # the declared type says something else than the value it holds
        attr.type = rng.choice([t for t in (1, 2, 3, 4, 6, 7, 8) if t != attr.type])
    elif kind == 1:  # a value of another type, consistently declared
        value = rng.choice([1.5, "same", [1.0, 2.0], numpy_helper.from_array(np.zeros((2, 2), np.float32))])
        attr.CopyFrom(h.make_attribute(attr.name, value))
    elif kind == 2:  # ints out of range
        if attr.ints:
            attr.ints[rng.randrange(len(attr.ints))] = rng.choice([-7, 0, 2**40, -(2**62)])
        else:
            attr.i = rng.choice([-7, 2**40, 99])
    elif kind == 3:  # an attribute the op does not have
        node.attribute.append(h.make_attribute(rng.choice(["bogus", "group", "axes", "mode"]), rng.choice([3, "x"])))
    else:  # the attribute given twice
        node.attribute.append(attr)
    return m.SerializeToString()


def bad_dims(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """Negative, zero or huge dimensions in the input, the output, or an initializer's dims."""
    m = _copy(model)
    value = rng.choice([-5, -1, 0, 2**31, 2**40, 10**6])
    where = rng.randrange(3)
    if where == 0:
        dims = m.graph.input[0].type.tensor_type.shape.dim
    elif where == 1:
        dims = m.graph.output[0].type.tensor_type.shape.dim
    else:
        dims = rng.choice(list(m.graph.initializer)).dims
    i = rng.randrange(len(dims))
    if where < 2:
        dims[i].dim_value = value  # type: ignore[union-attr]
    else:
        dims[i] = value  # type: ignore[call-overload]
    return m.SerializeToString()


def missing_initializer(model: onnx.ModelProto, rng: random.Random) -> bytes:
    m = _copy(model)
    del m.graph.initializer[rng.randrange(len(m.graph.initializer))]
    return m.SerializeToString()


def cycle(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """A node reads its own output or a later node's: a cycle."""
    m = _copy(model)
    nodes = list(m.graph.node)
    i = rng.randrange(len(nodes))
    j = rng.randrange(i, len(nodes))
    nodes[i].input[0] = nodes[j].output[0]
    return m.SerializeToString()


def duplicate_names(model: onnx.ModelProto, rng: random.Random) -> bytes:
    m = _copy(model)
    kind = rng.randrange(3)
    nodes = list(m.graph.node)
    a, b = rng.sample(range(len(nodes)), 2)
    if kind == 0:  # two nodes write the same value
        nodes[b].output[0] = nodes[a].output[0]
    elif kind == 1:  # an initializer twice
        m.graph.initializer.append(rng.choice(list(m.graph.initializer)))
    else:  # a node writes the graph input
        nodes[a].output[0] = m.graph.input[0].name
    return m.SerializeToString()


def bad_opset(model: onnx.ModelProto, rng: random.Random) -> bytes:
    m = _copy(model)
    kind = rng.randrange(4)
    if kind == 0:
        m.opset_import[0].version = rng.choice([0, 1, 6, 99, 10**6, -3])
    elif kind == 1:
        del m.opset_import[:]
    elif kind == 2:
        m.opset_import.add(domain="com.example.evil", version=1)
        rng.choice(list(m.graph.node)).domain = "com.example.evil"
    else:
        m.opset_import.add(domain="", version=13)  # the default domain twice
    if rng.random() < 0.3:
        m.ir_version = rng.choice([0, 1, 99])
    return m.SerializeToString()


def bad_initializer(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """An initializer whose data type or data does not fit its dims."""
    m = _copy(model)
    init = rng.choice(list(m.graph.initializer))
    kind = rng.randrange(3)
    if kind == 0:
        init.data_type = rng.choice([0, 8, 16, 99])  # undefined, string, bfloat16, none
    elif kind == 1:
        init.raw_data = init.raw_data[: len(init.raw_data) // 2]
    else:
        init.dims.append(3)
    return m.SerializeToString()


def bad_wiring(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """A node loses an input or gains one, reads a missing value, or the graph output names nothing."""
    m = _copy(model)
    node = rng.choice(list(m.graph.node))
    kind = rng.randrange(4)
    if kind == 0 and len(node.input) > 1:
        del node.input[-1]
    elif kind == 1:
        node.input.append(rng.choice(["x", "w1", "", "nowhere"]))
    elif kind == 2:
        node.input[0] = "nowhere"
    else:
        m.graph.output[0].name = "nowhere"
    if rng.random() < 0.3:  # and out of order
        nodes = list(m.graph.node)
        rng.shuffle(nodes)
        del m.graph.node[:]
        m.graph.node.extend(nodes)
    return m.SerializeToString()


def odd_values(model: onnx.ModelProto, rng: random.Random) -> bytes:
    """Values the ONNX checker lets through but no layer can use: zero strides, negative pads, an
    axis out of range, a kernel larger than its input, a reshape that cannot be, another input size."""
    m = _copy(model)
    nodes = {n.name: n for n in m.graph.node}

    def set_attr(node: onnx.NodeProto, name: str, value: object) -> None:
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend(kept + [h.make_attribute(name, value)])

    kind = rng.randrange(7)
    if kind == 0:
        node = nodes[rng.choice(["conv1", "conv2", "conv3", "pool1"])]
        name, value = rng.choice([("strides", [0, 1]), ("strides", [100, 100]), ("pads", [-1, 0, 0, 0]),
                                  ("pads", [50, 50, 50, 50]), ("dilations", [0, 1]), ("kernel_shape", [0, 0]),
                                  ("kernel_shape", [100, 100]), ("group", 3), ("group", 0),
                                  ("auto_pad", "BOGUS")])  # fmt: skip
        set_attr(node, name, value)
    elif kind == 1:
        set_attr(nodes["concat"], "axis", rng.choice([5, -9, 0, 3]))
    elif kind == 2:
        set_attr(nodes["softmax"], "axis", rng.choice([7, -3, 0]))
    elif kind == 3:
        set_attr(nodes["fc"], rng.choice(["transB", "transA"]), rng.choice([0, 1]))
    elif kind == 4:
        shape = next(i for i in m.graph.initializer if i.name == "shape")
        value = rng.choice([[0, -1], [-1, -1], [3, 7], [1, 0], [-2, 4], [2**40, 1]])
        shape.CopyFrom(numpy_helper.from_array(np.array(value, np.int64), "shape"))
    elif kind == 5:
        dims = m.graph.input[0].type.tensor_type.shape.dim
        for d, v in zip(
            dims, rng.choice([[1, 3, 1, 1], [2, 3, 16, 16], [1, 3, 5, 7], [1, 4, 16, 16], [1, 3, 1, 4096]])
        ):
            d.dim_value = v
    else:
        set_attr(nodes["bn"], "epsilon", rng.choice([-1.0, float("nan"), float("inf"), 0.0]))
    return m.SerializeToString()


GRAPH_MUTATIONS: list[Callable[[onnx.ModelProto, random.Random], bytes]] = [
    odd_values,
    flip_bits,
    truncate,
    garbage_op_type,
    wrong_attribute,
    bad_dims,
    missing_initializer,
    cycle,
    duplicate_names,
    bad_opset,
    bad_initializer,
    bad_wiring,
    odd_values,
]


# -- mutations of the IR weights (.npz) ---------------------------------------------------------


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def mutate_weights(weights: dict[str, np.ndarray], rng: random.Random) -> bytes:
    arrays = dict(weights)
    name = rng.choice(sorted(arrays))
    kind = rng.randrange(6)
    if kind == 0:
        del arrays[name]
    elif kind == 1:
        arrays[name] = np.zeros(tuple(d + 1 for d in arrays[name].shape) or (2,), arrays[name].dtype)
    elif kind == 2:
        arrays[name] = arrays[name].astype(rng.choice([np.float64, np.int8, np.bool_, np.complex64, np.float16]))
    elif kind == 3:
        arrays[name] = np.array([{"pickled": 1}, None], dtype=object)
    elif kind == 4:
        data = npz_bytes(arrays)
        return data[: rng.randrange(1, len(data))]
    else:
        arrays[name] = np.full(arrays[name].shape, rng.choice([np.nan, np.inf]), arrays[name].dtype)
    return npz_bytes(arrays)


@dataclass
class IRCase:
    name: str
    graph: Path  # the IR .pb, .npz beside it
    onnx: Path  # the same graph as one .onnx (where the mutation leaves it parseable: else the raw bytes)


def ir_cases(out: Path, count: int, seed: int = 0) -> list[IRCase]:
    """`count` damaged models, each as IR files (case.pb + case.npz) and as case.onnx. Most damage
    the graph; some keep the graph and damage the weights."""
    base = seed_model()
    graph_only, weights = common_ir.split(base)
    cases = []
    for i in range(count):
        rng = random.Random(seed * 100003 + i)
        stem = out / f"case{i:03d}"
        if i % 5 == 4:
            mutation = "weights"
            graph_bytes = graph_only.SerializeToString()
            npz = mutate_weights(weights, rng)
            onnx_bytes = base.SerializeToString() if rng.random() < 0.5 else _with_weights(graph_only, npz)
        else:
            fn = GRAPH_MUTATIONS[
                i % len(GRAPH_MUTATIONS) if i < 2 * len(GRAPH_MUTATIONS) else rng.randrange(len(GRAPH_MUTATIONS))
            ]
            mutation = fn.__name__
            onnx_bytes = fn(base, rng)
            graph_bytes, npz = _as_ir(onnx_bytes, weights)
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".pb").write_bytes(graph_bytes)
        stem.with_suffix(".npz").write_bytes(npz)
        stem.with_suffix(".onnx").write_bytes(onnx_bytes)
        cases.append(IRCase(f"{stem.name}-{mutation}", stem.with_suffix(".pb"), stem.with_suffix(".onnx")))
    return cases


def _as_ir(onnx_bytes: bytes, weights: dict[str, np.ndarray]) -> tuple[bytes, bytes]:
    """The IR split of a mutated model: graph without data, data in the npz. A model that does not
    parse, or whose initializers do not convert, goes to the .pb as it is, with the seed's weights."""
    model = onnx.ModelProto()
    try:
        model.ParseFromString(onnx_bytes)
        graph, arrays = common_ir.split(model)
        return graph.SerializeToString(), npz_bytes(arrays)
    except Exception:
        return onnx_bytes, npz_bytes(weights)


def _with_weights(graph_only: onnx.ModelProto, npz: bytes) -> bytes:
    """The graph with the (damaged) weights as its initializers, whatever their shapes and dtypes."""
    try:
        with np.load(io.BytesIO(npz), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception:
        return graph_only.SerializeToString()
    m = _copy(graph_only)
    del m.graph.initializer[:]
    m.graph.initializer.extend(numpy_helper.from_array(a, k) for k, a in arrays.items())
    return m.SerializeToString()


# -- Caffe --------------------------------------------------------------------------------------

CAFFE_SEED = """name: "FuzzNet"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 8 kernel_size: 3 pad: 1 stride: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 8 kernel_size: 3 pad: 1 group: 2 } }
layer { name: "cat" type: "Concat" bottom: "pool1" bottom: "conv2" top: "cat" concat_param { axis: 1 } }
layer { name: "bn" type: "BatchNorm" bottom: "cat" top: "cat" batch_norm_param { use_global_stats: true } }
layer { name: "scale" type: "Scale" bottom: "cat" top: "cat" scale_param { bias_term: true } }
layer { name: "sum" type: "Eltwise" bottom: "cat" bottom: "cat" top: "sum" eltwise_param { operation: SUM } }
layer { name: "lrn" type: "LRN" bottom: "sum" top: "lrn" lrn_param { local_size: 3 } }
layer { name: "pool2" type: "Pooling" bottom: "lrn" top: "pool2" pooling_param { pool: AVE global_pooling: true } }
layer { name: "fc" type: "InnerProduct" bottom: "pool2" top: "fc" inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""

_CAFFE_NUMBERS = ["dim: 16", "dim: 3", "num_output: 8", "kernel_size: 3", "kernel_size: 2", "stride: 2",
                  "pad: 1", "group: 2", "axis: 1", "local_size: 3", "num_output: 10"]  # fmt: skip


def mutate_prototxt(text: str, rng: random.Random, kind: int | None = None) -> str:
    kind = rng.randrange(9) if kind is None else kind
    if kind == 8:  # another input size: the weights still fit (global pooling), the net converts
        return text.replace("dim: 16 dim: 16", rng.choice(["dim: 24 dim: 24", "dim: 7 dim: 9", "dim: 2 dim: 2"]), 1)
    if kind == 0:  # a number out of range
        old = rng.choice([s for s in _CAFFE_NUMBERS if s in text])
        key = old.split(":")[0]
        return text.replace(old, f"{key}: {rng.choice([0, -1, -16, 2**31, 10**9, 7])}", 1)
    if kind == 1:  # a layer type no converter has, or of another layer
        types = ['"Convolution"', '"ReLU"', '"Pooling"', '"Concat"', '"BatchNorm"', '"InnerProduct"', '"Eltwise"']
        old = rng.choice([t for t in types if t in text])
        return text.replace(old, rng.choice(['"Swish"', '"Python"', '"Deconvolution"', '"Data"', '"Slice"', '""']), 1)
    if kind == 2:  # a bottom nobody produces, or a layer reading its own later output
        return text.replace('bottom: "pool1"', rng.choice(['bottom: "nowhere"', 'bottom: "fc"', 'bottom: ""']), 1)
    if kind == 3:  # broken syntax
        i = rng.randrange(len(text))
        return text[:i] + rng.choice(["}", "{", '"', "layer {", ": :", "\x00", "\xff"]) + text[i:]
    if kind == 4:  # cut off
        return text[: rng.randrange(1, len(text))]
    if kind == 5:  # the same name twice
        return text.replace('name: "conv2"', 'name: "conv1"', 1)
    if kind == 6:  # a parameter that does not belong to the layer
        return text.replace(
            "lrn_param { local_size: 3 }", rng.choice(["lrn_param { local_size: 4 }", "lrn_param { norm_region: 7 }",
                                                       "convolution_param { num_output: 3 }"]), 1)  # fmt: skip
    # an input of impossible size
    return text.replace("dim: 1 dim: 3 dim: 16 dim: 16", rng.choice(
        ["dim: 1 dim: 3 dim: 0 dim: 16", "dim: 1 dim: 3 dim: 100000 dim: 100000", "dim: 3 dim: 16 dim: 16",
         "dim: 1 dim: 3 dim: 1 dim: 1", "dim: -1 dim: 3 dim: 16 dim: 16"]), 1)  # fmt: skip


def caffe_cases(out: Path, count: int, seed: int = 0) -> list[tuple[str, Path]]:
    cases = []
    for i in range(count):
        rng = random.Random(seed * 100003 + 7919 * i)
        text = mutate_prototxt(CAFFE_SEED, rng, kind=i % 9 if i < 18 else None)
        if rng.random() < 0.3:
            text = mutate_prototxt(text, rng)
        path = out / f"caffe{i:03d}.prototxt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        cases.append((path.stem, path))
    return cases

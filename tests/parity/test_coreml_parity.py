"""CoreML pairs on Linux: PyTorch zoo -> CoreML, ONNX -> CoreML, CoreML -> PyTorch / ONNX, element-wise
float32 atol 1e-4 / rtol 1e-3, and the saved spec itself (layer types, weights bit-equal to the IR,
feature descriptions, preprocessing, class labels).

Linux has no CoreML runtime: the CoreML side runs as a spec interpretation (the spec translated back
to the IR and run with onnxruntime), and every result must say so in its engine string."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers import onnx_model, run_in_env

from broker.parity import seeded_inputs
from broker.pipeline import input_specs

pytestmark = pytest.mark.parity

ROOT = Path(__file__).resolve().parents[2]
ZOO_NAMES = ["resnet", "mobilenetv2", "vgg", "squeezenet", "densenet", "inception"]
LABEL = "CoreML spec interpretation, not Apple's runtime"
SOURCE_FILE = {"pytorch": "{name}.pt2", "onnx": "{name}.onnx"}


def _env_run(env_for, *args):
    run_in_env(env_for("coreml"), *args, timeout=300)


def dump_spec(env_for, mlmodel, prefix):
    _env_run(env_for, ROOT / "tests" / "parity" / "coreml_spec.py", mlmodel, prefix)
    with np.load(str(prefix) + ".npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(Path(str(prefix) + ".json").read_text()), arrays


def to_coreml(session, src, source, out_dir, name, options=None):
    ir = session.toir(src, source, stem=out_dir / "ir" / name)
    emitted = session.tocode("coreml", ir, out_dir / "code", name=name, options=options)
    written = session.tomodel("coreml", emitted, out_dir / f"{name}.mlmodel")
    return ir, written


PROGRAM_LABEL = "CoreML ML Program interpretation, not Apple's runtime"


def to_mlpackage(session, src, source, out_dir, name):
    ir = session.toir(src, source, stem=out_dir / "ir" / name)
    emitted = session.tocode("coreml", ir, out_dir / "code", name=name, options={"format": "mlpackage"})
    written = session.tomodel("coreml", emitted, out_dir / f"{name}.mlpackage")
    return ir, written


def check_labelled(report):
    assert LABEL in report.candidate_engine or LABEL in report.reference_engine, report.to_dict()


@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_to_coreml(session, zoo, parity_recorder, tmp_path, src, name):
    source = [str(zoo[name]["dir"] / SOURCE_FILE[src].format(name=name))]
    ir, written = to_coreml(session, src, source, tmp_path, name)
    inputs = seeded_inputs(input_specs(ir), seed=0)
    report = session.verify((src, source), ("coreml", written), inputs)
    parity_recorder.add(src, "coreml", name, report)
    check_labelled(report)
    assert LABEL in report.candidate_engine
    assert report.passed, report.to_dict()


@pytest.fixture(scope="module")
def coreml_sources(session, zoo, tmp_path_factory):
    """CoreML files made by the emitter from the PyTorch zoo, used as sources."""
    out = tmp_path_factory.mktemp("coreml-src")
    made = {}
    for name in ("resnet", "squeezenet", "inception"):
        _, written = to_coreml(session, "pytorch", [str(zoo[name]["dir"] / f"{name}.pt2")], out, name)
        made[name] = written[0]
    return made


@pytest.mark.parametrize("dst", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", ["resnet", "squeezenet", "inception"])
def test_from_coreml(session, coreml_sources, parity_recorder, tmp_path, dst, name):
    source = [coreml_sources[name]]
    ir = session.toir("coreml", source, stem=tmp_path / "ir" / name)
    emitted = session.tocode(dst, ir, tmp_path / "code", name=name)
    written = session.tomodel(dst, emitted, tmp_path / (f"{name}.pth" if dst == "pytorch" else f"{name}.onnx"))
    inputs = seeded_inputs(input_specs(ir), seed=1)
    report = session.verify(("coreml", source), (dst, written), inputs)
    parity_recorder.add("coreml", dst, name, report)
    assert LABEL in report.reference_engine
    assert report.passed, report.to_dict()


def test_builder_made_coreml_to_pytorch(session, env_for, parity_recorder, tmp_path):
    """A .mlmodel no mmbroker code wrote, with layers the emitter never uses."""
    source = tmp_path / "builder.mlmodel"
    _env_run(env_for, ROOT / "tests" / "parity" / "coreml_builder_model.py", source)
    ir = session.toir("coreml", [str(source)], stem=tmp_path / "ir" / "builder")
    emitted = session.tocode("pytorch", ir, tmp_path / "code", name="builder")
    written = session.tomodel("pytorch", emitted, tmp_path / "builder.pth")
    inputs = seeded_inputs(input_specs(ir), seed=2)
    assert list(inputs.values())[0].shape == (1, 3, 12, 12)
    report = session.verify(("coreml", [str(source)]), ("pytorch", written), inputs)
    parity_recorder.add("coreml", "pytorch", "builder-made", report)
    assert LABEL in report.reference_engine
    outs = session.infer("coreml", [str(source)], inputs)[0]
    assert outs[0][1].shape == (1, 5) and np.std(outs[0][1]) > 1e-3
    assert report.passed, report.to_dict()


def test_saved_spec(session, zoo, env_for, tmp_path):
    """Layer types, weights bit-equal to the IR, feature descriptions of a plain conversion."""
    name = "densenet"
    ir, written = to_coreml(session, "pytorch", [str(zoo[name]["dir"] / f"{name}.pt2")], tmp_path, name)
    spec, arrays = dump_spec(env_for, written[0], tmp_path / "spec")
    graph = onnx.load(str(ir.graph))
    with np.load(str(ir.weights), allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    assert spec["type"] == "neuralNetwork"
    layers = {layer["name"]: layer for layer in spec["layers"]}
    expected = {
        "Conv": "convolution",
        "BatchNormalization": "batchnorm",
        "Relu": "activation",
        "Concat": "concat",
        "AveragePool": "pooling",
        "ReduceMean": "pooling",
        "Gemm": "innerProduct",
    }
    fields = {
        "Conv": ["weights", "bias"],
        "Gemm": ["weights", "bias"],
        "BatchNormalization": ["gamma", "beta", "mean", "variance"],
    }
    checked = 0
    for node in graph.graph.node:
        if node.op_type in expected:
            assert layers[node.name]["type"] == expected[node.op_type], node.name
        for i, field in enumerate(fields.get(node.op_type, []), start=1):
            if i < len(node.input) and node.input[i]:
                got = arrays[f"{node.name}|{field}"]
                want = weights[node.input[i]].astype(np.float32).reshape(-1)
                assert got.tobytes() == want.tobytes(), (node.name, field)
                checked += 1
    assert checked >= 20
    (inp,) = spec["description"]["input"]
    assert inp["name"] == graph.graph.input[0].name
    assert inp["type"]["multiArrayType"]["shape"] == [str(d) for d in zoo[name]["shape"][1:]]
    assert inp["type"]["multiArrayType"]["dataType"] == "FLOAT32"
    (out,) = spec["description"]["output"]
    assert out["type"]["multiArrayType"]["shape"] == ["10"]
    pool = [x for x in spec["layers"] if x["type"] == "pooling" and not x["params"].get("globalPooling")]
    assert pool and pool[0]["params"]["type"] == "AVERAGE"


def test_mmdnn_options(session, zoo, env_for, tmp_path):
    """Image input, BGR order, per-channel bias and scale, names and class labels (MMdnn's options),
    as written in the spec and as the interpretation applies them."""
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"class {i}\n" for i in range(10)))
    options = {"isBGR": "1", "redBias": "-1.5", "greenBias": "-0.5", "blueBias": "0.25", "scale": "0.5",
               "inputNames": "image", "outputNames": "logits", "classInputPath": str(labels)}  # fmt: skip
    pt2 = [str(zoo["resnet"]["dir"] / "resnet.pt2")]
    ir, written = to_coreml(session, "pytorch", pt2, tmp_path, "resnet", options=options)
    spec, _ = dump_spec(env_for, written[0], tmp_path / "spec")
    assert spec["type"] == "neuralNetworkClassifier"
    (inp,) = spec["description"]["input"]
    assert inp["name"] == "image"
    image = inp["type"]["imageType"]
    assert image["colorSpace"] == "BGR" and image["width"] == "32" and image["height"] == "32"
    (pre,) = spec["preprocessing"]
    assert pre["featureName"] == "image"
    assert pre["scaler"] == {"channelScale": 0.5, "redBias": -1.5, "greenBias": -0.5, "blueBias": 0.25}
    assert spec["classLabels"] == [f"class {i}" for i in range(10)]
    outs = [o["name"] for o in spec["description"]["output"]]
    assert "classLabel" in outs

    ((ir_input, x),) = seeded_inputs(input_specs(ir), seed=4).items()
    got = session.infer("coreml", written, {"image": x})
    assert LABEL in got[2]
    bias_bgr = np.array([0.25, -0.5, -1.5], np.float32).reshape(1, 3, 1, 1)
    want = session.infer("pytorch", pt2, {ir_input: (x * 0.5 + bias_bgr).astype(np.float32)})[0][0][1]
    assert got[0][0][0] == "logits"
    np.testing.assert_allclose(got[0][0][1], want, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", ["vgg19", "mobilenetv2", "resnet50"])
def test_keras_to_coreml(session, tf_models, parity_recorder, tmp_path, name):
    """Keras -> CoreML. Keras models keep their NHWC input in the IR behind one Transpose (a CoreML
    permute layer). A model using an op the NeuralNetwork emitter lacks is an expected failure that
    prints the converter's own error."""
    from broker.errors import BrokerError

    out, _ = tf_models
    source = [str(out / f"{name}.keras")]
    try:
        ir, written = to_coreml(session, "tensorflow", source, tmp_path, name)
    except BrokerError as err:
        if err.reference not in ("unsupported-op", "unsupported-attribute"):
            raise
        print(f"Keras -> CoreML: {err}")
        pytest.xfail(f"Keras -> CoreML: {err}")
    report = session.verify(("tensorflow", source), ("coreml", written), seeded_inputs(input_specs(ir), seed=0))
    parity_recorder.add("tensorflow", "coreml", name, report)
    check_labelled(report)
    assert report.passed, report.to_dict()


@pytest.mark.parametrize("src", ["pytorch", "onnx"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_to_mlpackage(session, zoo, parity_recorder, tmp_path, src, name):
    """The ML Program path: IR -> MIL program -> .mlpackage, run on Linux by reading the program back."""
    source = [str(zoo[name]["dir"] / SOURCE_FILE[src].format(name=name))]
    ir, written = to_mlpackage(session, src, source, tmp_path, name)
    assert Path(written[0]).is_dir() and (Path(written[0]) / "Manifest.json").is_file()
    inputs = seeded_inputs(input_specs(ir), seed=0)
    report = session.verify((src, source), ("coreml", written), inputs)
    parity_recorder.add(src, "coreml", f"{name} (.mlpackage)", report)
    assert PROGRAM_LABEL in report.candidate_engine
    assert report.passed, report.to_dict()


def test_mlpackage_as_source_keeps_weights(session, zoo, parity_recorder, tmp_path):
    """.mlpackage -> IR -> PyTorch; the weights read back from the package are bit-equal to the IR's."""
    from broker.ir import load_ir

    source = [str(zoo["resnet"]["dir"] / "resnet.pt2")]
    ir, package = to_mlpackage(session, "pytorch", source, tmp_path, "resnet")
    back = session.toir("coreml", package, stem=tmp_path / "back")

    def conv_weights(files):
        model = load_ir(files.graph, files.weights)
        inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
        return [inits[n.input[1]] for n in model.graph.node if n.op_type == "Conv"]

    original, read_back = conv_weights(ir), conv_weights(back)
    assert len(original) == len(read_back) > 0
    for a, b in zip(original, read_back):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    emitted = session.tocode("pytorch", back, tmp_path / "code", name="resnet_from_mlpackage")
    written = session.tomodel("pytorch", emitted, tmp_path / "resnet_from_mlpackage.pth")
    report = session.verify(("coreml", package), ("pytorch", written), seeded_inputs(input_specs(back), seed=0))
    parity_recorder.add("coreml", "pytorch", "resnet (.mlpackage)", report)
    assert PROGRAM_LABEL in report.reference_engine
    assert report.passed, report.to_dict()


@pytest.mark.parametrize("name", ["vgg19", "mobilenetv2", "resnet50"])
def test_keras_to_mlpackage(session, tf_models, parity_recorder, tmp_path, name):
    """Keras -> ML Program: any-rank tensors, so the NHWC input and rank-1 values that the
    NeuralNetwork format cannot hold convert as they are."""
    out, _ = tf_models
    source = [str(out / f"{name}.keras")]
    ir, written = to_mlpackage(session, "tensorflow", source, tmp_path, name)
    report = session.verify(("tensorflow", source), ("coreml", written), seeded_inputs(input_specs(ir), seed=0))
    parity_recorder.add("tensorflow", "coreml", f"{name} (.mlpackage)", report)
    assert PROGRAM_LABEL in report.candidate_engine
    assert report.passed, report.to_dict()


@pytest.fixture(scope="module")
def upsample_pt2(env_for, tmp_path_factory):
    """tests/parity/upsample_model.py's decoder (transposed convolutions, nn.Upsample) as a .pt2."""
    out = tmp_path_factory.mktemp("upsample")
    run_in_env(env_for("pytorch"), ROOT / "tests" / "parity" / "upsample_model.py", out, timeout=300)
    return out / "upsample.pt2"


def test_deconv_upsample_mlpackage(session, upsample_pt2, parity_recorder, tmp_path):
    """ConvTranspose (padding + output_padding, groups, output_padding beyond the padding) and
    Resize (nearest, bilinear with and without align_corners) as MIL conv_transpose and upsample
    ops; PyTorch -> .mlpackage, and the package read back -> PyTorch, both against the source."""
    source = [str(upsample_pt2)]
    ir, package = to_mlpackage(session, "pytorch", source, tmp_path, "upsample")
    program = (tmp_path / "code" / "upsample.mlpackage.txt").read_text()
    for op in ("conv_transpose(", "upsample_nearest_neighbor(", "upsample_bilinear("):
        assert op in program, op
    assert program.count("conv_transpose(") == 3
    inputs = seeded_inputs(input_specs(ir), seed=0)
    assert list(inputs.values())[0].shape == (1, 3, 16, 16)
    report = session.verify(("pytorch", source), ("coreml", package), inputs)
    parity_recorder.add("pytorch", "coreml", "deconv-upsample (.mlpackage)", report)
    assert PROGRAM_LABEL in report.candidate_engine
    assert report.passed, report.to_dict()

    back = session.toir("coreml", package, stem=tmp_path / "back")
    read_back = [n.op_type for n in onnx.load(str(back.graph)).graph.node]
    assert read_back.count("ConvTranspose") == 3 and read_back.count("Resize") == 3, read_back
    emitted = session.tocode("pytorch", back, tmp_path / "code_back", name="upsample_back")
    written = session.tomodel("pytorch", emitted, tmp_path / "upsample_back.pth")
    report = session.verify(("coreml", package), ("pytorch", written), inputs)
    parity_recorder.add("coreml", "pytorch", "deconv-upsample (.mlpackage)", report)
    assert PROGRAM_LABEL in report.reference_engine
    assert report.passed, report.to_dict()
    report = session.verify(("pytorch", source), ("pytorch", written), inputs)
    assert report.passed, report.to_dict()


def _deconv_resize_variants(path):
    """One ONNX graph, one output per form of ConvTranspose and Resize the ML Program converts
    beyond what torch exports: auto_pad SAME_LOWER / SAME_UPPER (with an odd total padding),
    output_shape, dilations, groups with output_padding beyond the end pad; nearest with
    half-pixel rounding, linear by sizes (asymmetric, half_pixel down-sampling) and align_corners by
    a fractional scale."""
    from onnx import TensorProto
    from onnx import helper as h

    rng = np.random.default_rng(3)
    b = rng.standard_normal(4).astype(np.float32)
    inits = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "wg": rng.standard_normal((4, 2, 3, 3)).astype(np.float32),
        "b": b,
        "b3": b[:3],
        "s23": np.array([1, 1, 2, 3], np.float32),
        "s152": np.array([1, 1, 1.5, 2], np.float32),
        "z79": np.array([1, 4, 7, 9], np.int64),
        "z34": np.array([1, 4, 3, 4], np.int64),
    }
    nodes = [
        h.make_node("ConvTranspose", ["x", "w", "b3"], ["same_lower"], strides=[2, 2], auto_pad="SAME_LOWER"),
        h.make_node(
            "ConvTranspose", ["x", "w"], ["same_upper"], strides=[2, 2], dilations=[2, 1], auto_pad="SAME_UPPER"
        ),
        h.make_node("ConvTranspose", ["x", "w", "b3"], ["output_shape"], strides=[2, 3], output_shape=[10, 16]),
        h.make_node(
            "ConvTranspose",
            ["x", "wg", "b"],
            ["grouped"],
            group=2,
            strides=[2, 3],
            pads=[1, 0, 2, 1],
            output_padding=[1, 2],
        ),
        h.make_node(
            "Resize",
            ["x", "", "s23"],
            ["nearest_half_pixel"],
            mode="nearest",
            coordinate_transformation_mode="half_pixel",
            nearest_mode="round_prefer_ceil",
        ),
        h.make_node(
            "Resize",
            ["x", "", "", "z79"],
            ["linear_asymmetric"],
            mode="linear",
            coordinate_transformation_mode="asymmetric",
        ),
        h.make_node(
            "Resize", ["x", "", "", "z34"], ["linear_down"], mode="linear", coordinate_transformation_mode="half_pixel"
        ),
        h.make_node(
            "Resize",
            ["x", "", "s152"],
            ["linear_corners"],
            mode="linear",
            coordinate_transformation_mode="align_corners",
        ),
    ]
    outputs = [n.output[0] for n in nodes]
    graph = h.make_graph(
        nodes,
        "variants",
        [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 6])],
        [h.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = onnx.shape_inference.infer_shapes(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]))
    onnx.save(model, str(path))
    return outputs


def test_onnx_deconv_resize_variants_mlpackage(session, parity_recorder, tmp_path):
    src = tmp_path / "variants.onnx"
    outputs = _deconv_resize_variants(src)
    ir, package = to_mlpackage(session, "onnx", [str(src)], tmp_path, "variants")
    program = (tmp_path / "code" / "variants.mlpackage.txt").read_text()
    assert program.count("conv_transpose(") == 4 and program.count("resize_bilinear(") == 3, program
    report = session.verify(("onnx", [str(src)]), ("coreml", package), seeded_inputs(input_specs(ir), seed=0))
    parity_recorder.add("onnx", "coreml", "deconv-resize variants (.mlpackage)", report)
    assert PROGRAM_LABEL in report.candidate_engine
    assert sorted(o.name for o in report.outputs) == sorted(outputs)
    assert report.passed, report.to_dict()


def test_constant_node_to_mlpackage(session, parity_recorder, tmp_path):
    """A Constant node (an initializer once the broker has canonicalized the graph) converts to an
    ML Program."""
    src = tmp_path / "constant.onnx"
    scale = onnx.helper.make_tensor("s", onnx.TensorProto.FLOAT, [1, 3, 1, 1], [0.5, -2.0, 3.0])
    nodes = [
        onnx.helper.make_node("Constant", [], ["s"], name="scale_value", value=scale),
        onnx.helper.make_node("Mul", ["x", "s"], ["m"], name="scale"),
        onnx.helper.make_node("Relu", ["m"], ["y"], name="relu"),
    ]
    onnx.save(onnx_model(nodes, [("x", [1, 3, 4, 4])], ["y"]), str(src))
    ir, package = to_mlpackage(session, "onnx", [str(src)], tmp_path, "constant")
    report = session.verify(("onnx", [str(src)]), ("coreml", package), seeded_inputs(input_specs(ir), seed=0))
    parity_recorder.add("onnx", "coreml", "constant node (.mlpackage)", report)
    assert report.passed, report.to_dict()

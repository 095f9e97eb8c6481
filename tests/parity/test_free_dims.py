"""Free dimensions kept free and checked at two sizes.

MMdnn's `--inputShape 3,H,W` keeps the batch free: a small MXNet CNN (made with real MXNet:
convolution, BatchNorm, pooling, a Reshape(0, -1) and two FullyConnected heads) is converted to
every target, and each target that keeps the batch free (ONNX, PyTorch, MXNet, Keras and .tflite,
CNTK, CoreML .mlpackage and .mlmodel) runs at batch 1 and at batch 3 in its own framework's runner
against MXNet at the same batch; a target that cannot (Caffe's fixed input_shape) says so in the
report. A token model whose batch and sequence length are free is checked at two of each."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli, run_in_env

from broker.pipeline import ConvertRequest, InputShape, convert

MAKE = """
import sys, mxnet as mx
mx.random.seed(0)
d = mx.sym.var("data")
c = mx.sym.Convolution(d, kernel=(3, 3), num_filter=4, name="conv")
b = mx.sym.BatchNorm(c, fix_gamma=False, name="bn")
p = mx.sym.Pooling(mx.sym.Activation(b, act_type="relu", name="relu"), kernel=(2, 2), stride=(2, 2),
                   pool_type="max", name="pool")
f = mx.sym.FullyConnected(mx.sym.Reshape(p, shape=(0, -1), name="flat"), num_hidden=5, name="fc")
out = mx.sym.Group([mx.sym.softmax(f, name="prob"), mx.sym.FullyConnected(p, num_hidden=3, name="fc2")])
mod = mx.mod.Module(out, data_names=["data"], label_names=None)
mod.bind(data_shapes=[("data", (1, 3, 16, 16))])
mod.init_params(mx.init.Xavier())
args, aux = mod.get_params()
aux = {k: mx.nd.random.uniform(0.5, 1.5, v.shape) for k, v in aux.items()}  # BatchNorm not the identity
mod.set_params(args, aux)
mod.save_checkpoint(sys.argv[1] + "/tiny", 0)
"""

# targets whose converted model keeps the batch free, and the file each writes
FREE = [
    ("onnx", "tiny.onnx"),
    ("pytorch", "tiny.pth"),
    ("mxnet", "tiny-symbol.json"),
    ("tensorflow", "tiny.keras"),
    ("cntk", "tiny.model"),
    ("coreml", "tiny.mlpackage"),  # the batch a RangeDim (1 to 1024)
    ("coreml", "tiny.mlmodel"),  # a NeuralNetwork's batch is implicit: its input is C,H,W
    ("tensorflow", "tiny.tflite"),  # the interpreter's input resized to the batch given
]


@pytest.fixture(scope="module")
def tiny_mxnet(env_or_skip, tmp_path_factory):
    out = tmp_path_factory.mktemp("free_batch")
    run_in_env(env_or_skip("mxnet"), "-c", MAKE, out)
    return [str(out / "tiny-symbol.json"), str(out / "tiny-0000.params")]


def _convert(session, env_or_skip, source, dst, output):
    env_or_skip(dst)
    req = ConvertRequest("mxnet", source, dst, output, input_shapes=[InputShape.parse("3,16,16")],
                         emit_options={"format": output.suffix.lstrip(".")})  # fmt: skip
    return convert(session, req)


@pytest.mark.parity
@pytest.mark.parametrize("dst,out", FREE, ids=[f for _, f in FREE])
def test_batch_left_free_runs_at_1_and_3(session, env_or_skip, parity_recorder, tiny_mxnet, tmp_path, dst, out):
    done = _convert(session, env_or_skip, tiny_mxnet, dst, tmp_path / out)
    report = done.report
    assert report is not None and report.passed, report and report.to_dict()
    assert done.written, done.note
    dims = [d.dim_param or d.dim_value for d in _ir_input(done.ir).type.tensor_type.shape.dim]
    assert dims == ["N", 3, 16, 16], "the IR keeps MMdnn's batch free"
    assert not report.fixed, report.fixed
    assert [i["shape"] for i in report.inputs] == [[1, 3, 16, 16]]
    assert len(report.other_sizes) == 1, "checked again at a second batch"
    again = report.other_sizes[0]
    assert [i["shape"] for i in again.inputs] == [[3, 3, 16, 16]]
    assert [o.shape for o in again.outputs] == [[3, 5], [3, 3]] and again.passed
    assert all(o.reference_std > 1e-3 for o in again.outputs), "the comparison proves something"
    parity_recorder.add("mxnet", dst, "free-batch " + out, again)


@pytest.mark.parity
def test_caffe_fixes_the_batch_and_says_so(session, env_or_skip, tiny_mxnet, tmp_path):
    done = _convert(session, env_or_skip, tiny_mxnet, "caffe", tmp_path / "tiny.prototxt")
    report = done.report
    assert report is not None and report.passed and done.written
    assert report.other_sizes == [] and "caffe code is made at fixed sizes" in report.fixed
    assert "data 3x3x16x16" in report.fixed


@pytest.mark.parity
def test_cli_report_shows_both_batches(env_or_skip, tiny_mxnet, tmp_path):
    """`mmbroker convert --json` and the Markdown report carry the check at each batch."""
    env_or_skip("onnx")
    md = tmp_path / "r.md"
    symbol, params = tiny_mxnet
    r = run_cli("convert", "-sf", "mxnet", "-in", symbol, "-iw", params, "--inputShape", "N,3,16,16",
                "-df", "onnx", "-om", tmp_path / "t.onnx", "--report", md, "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    parity = json.loads(r.stdout)["parity"]
    assert parity["passed"] and [i["shape"] for i in parity["inputs"]] == [[1, 3, 16, 16]]
    assert [i["shape"] for i in parity["other_sizes"][0]["inputs"]] == [[3, 3, 16, 16]]
    text = md.read_text()
    assert "| prob | 1x5 |" in text and "| prob | 3x5 |" in text and "data 3x3x16x16" in text


def _ir_input(ir):
    import onnx

    return onnx.load(str(ir.graph), load_external_data=False).graph.input[0]


def token_model(path):
    """An ONNX token model whose batch and sequence length are free (dim_param batch, seq): an
    embedding lookup, a projection, a reshape into heads written with 0s, a softmax over them."""
    import numpy as np
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(0)
    inits = [
        nh.from_array(rng.standard_normal((11, 8)).astype(np.float32), "emb"),
        nh.from_array(rng.standard_normal((8, 8)).astype(np.float32), "proj"),
        nh.from_array(np.array([0, 0, 2, 4], np.int64), "heads"),
    ]
    nodes = [
        h.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        h.make_node("MatMul", ["e", "proj"], ["p"], name="proj"),
        h.make_node("Reshape", ["p", "heads"], ["r"], name="split_heads"),
        h.make_node("Softmax", ["r"], ["y"], axis=-1, name="softmax"),
    ]
    graph = h.make_graph(nodes, "tokens", [h.make_tensor_value_info("ids", T.INT64, ["batch", "seq"])],
                         [h.make_tensor_value_info("y", T.FLOAT, ["batch", "seq", 2, 4])], inits)  # fmt: skip
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), path)
    return [str(path)]


@pytest.mark.parity
@pytest.mark.parametrize("dst,out", [("onnx", "t.onnx"), ("pytorch", "t.pth")])
def test_sequence_length_checked_at_two_lengths(session, env_or_skip, tmp_path, dst, out):
    """A model whose batch and sequence length are free is checked at batch 1 / 16 tokens and at
    batch 3 / 24 tokens, token ids inside the embedding."""
    env_or_skip("onnx")
    env_or_skip(dst)
    source = token_model(tmp_path / "tokens.onnx")
    done = convert(session, ConvertRequest("onnx", source, dst, tmp_path / out))
    report = done.report
    assert report is not None and report.passed and done.written, report and report.to_dict()
    assert [i["shape"] for i in report.inputs] == [[1, 16]]
    (again,) = report.other_sizes
    assert [i["shape"] for i in again.inputs] == [[3, 24]]
    assert [o.shape for o in again.outputs] == [[3, 24, 2, 4]]


@pytest.mark.parity
def test_a_source_with_fixed_sizes_is_checked_at_them(session, env_or_skip, tmp_path):
    """An ONNX file whose input is 1x8 given MMdnn's `--inputShape 8`: onnxruntime refuses batch 3
    on the source side, so the check stays at batch 1 and the report says why."""
    import numpy as np
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    env_or_skip("onnx")
    w = nh.from_array(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32), "w")
    graph = h.make_graph([h.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "g",
                         [h.make_tensor_value_info("x", T.FLOAT, [1, 8])],
                         [h.make_tensor_value_info("y", T.FLOAT, [1, 4])], [w])  # fmt: skip
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), tmp_path / "fixed.onnx")
    req = ConvertRequest("onnx", [str(tmp_path / "fixed.onnx")], "onnx", tmp_path / "out.onnx",
                         input_shapes=[InputShape.parse("8")])  # fmt: skip
    done = convert(session, req)
    report = done.report
    assert report is not None and report.passed and done.written
    assert report.other_sizes == [] and "the onnx model takes only the sizes it was checked at" in report.fixed


@pytest.mark.parity
def test_compare_checks_both_sizes(env_or_skip, tmp_path):
    """`mmbroker compare` of two models whose batch and sequence length are free runs at both sizes."""
    env_or_skip("onnx")
    (a,) = token_model(tmp_path / "a.onnx")
    r = run_cli("compare", a, a, "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] and [i["shape"] for i in report["inputs"]] == [[1, 16]]
    assert [i["shape"] for i in report["other_sizes"][0]["inputs"]] == [[3, 24]] and not report["fixed"]

"""Every pair among the runners in this suite, on six real architectures, element-wise float32
atol 1e-4 / rtol 1e-3. Sources are real framework files; both sides are computed by the real
frameworks (torch, onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest

from broker.parity import seeded_inputs
from broker.pipeline import InputShape, input_specs

ZOO_NAMES = ["resnet", "mobilenetv2", "vgg", "squeezenet", "densenet", "inception"]
SOURCE_FILE = {"pytorch": "{name}.pt2", "onnx": "{name}.onnx"}
TARGET_FILE = {"pytorch": "{name}.pth", "onnx": "{name}.onnx"}
PAIRS = [("pytorch", "onnx"), ("pytorch", "pytorch"), ("onnx", "pytorch"), ("onnx", "onnx")]


def convert(session, src, dst, source, out_dir, name, options=None):
    ir = session.toir(src, source, stem=out_dir / "ir" / name, options=options)
    emitted = session.tocode(dst, ir, out_dir / "code", name=name)
    written = session.tomodel(dst, emitted, out_dir / TARGET_FILE[dst].format(name=name))
    return ir, written


def test_zoo_is_complete(zoo):
    assert sorted(zoo) == sorted(ZOO_NAMES)


@pytest.mark.parity
@pytest.mark.parametrize("src,dst", PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_pair(session, zoo, parity_recorder, tmp_path, src, dst, name):
    source = [str(zoo[name]["dir"] / SOURCE_FILE[src].format(name=name))]
    ir, written = convert(session, src, dst, source, tmp_path, name)
    inputs = seeded_inputs(input_specs(ir), seed=0)
    assert list(inputs.values())[0].shape == tuple(zoo[name]["shape"])
    report = session.verify((src, source), (dst, written), inputs)
    parity_recorder.add(src, dst, name, report)
    ref = session.infer(src, source, inputs)[0][0][1]
    assert np.std(ref) > 1e-2, "reference output has no spread: the comparison would prove nothing"
    assert report.passed, report.to_dict()


@pytest.mark.parity
def test_state_dict_source_to_onnx(session, zoo, parity_recorder, tmp_path):
    """A .pth state_dict with its class file, the way most PyTorch models are shared."""
    d = zoo["resnet"]["dir"]
    source = [str(d / "resnet.pth"), str(d / "resnet_class.py")]
    ir = session.toir(
        "pytorch",
        source,
        stem=tmp_path / "ir",
        options={"class": "TinyResNet"},
        inputs=[InputShape("", [1, 3, 32, 32])],
    )
    emitted = session.tocode("onnx", ir, tmp_path / "code", name="resnet")
    written = session.tomodel("onnx", emitted, tmp_path / "resnet.onnx")
    inputs = seeded_inputs(input_specs(ir), seed=3)
    reference = session.verify(("pytorch", [str(d / "resnet.pt2")]), ("onnx", written), inputs)
    assert reference.passed, reference.to_dict()


@pytest.mark.parity
def test_pytorch_to_pt2(session, zoo, tmp_path):
    """The .pt2 target: torch.export of the generated module."""
    source = [str(zoo["mobilenetv2"]["dir"] / "mobilenetv2.pt2")]
    ir = session.toir("pytorch", source, stem=tmp_path / "ir")
    emitted = session.tocode("pytorch", ir, tmp_path / "code", name="mobilenetv2")
    written = session.tomodel("pytorch", emitted, tmp_path / "out.pt2")
    assert any(w.endswith(".pt2") for w in written)
    report = session.verify(
        ("pytorch", source),
        ("pytorch", [w for w in written if w.endswith(".pt2")]),
        seeded_inputs(input_specs(ir), seed=1),
    )
    assert report.passed, report.to_dict()


@pytest.mark.parity
def test_zoo_plans_for_batch(zoo, tmp_path):
    """tests/parity/zoo_plan.py: the plans `mmbroker batch` makes the table's zoo rows with."""
    from broker.batch.plan import read_plan
    from parity.zoo_plan import write_plans

    zoo_dir = next(iter(zoo.values()))["dir"]
    plans = write_plans(zoo_dir, tmp_path, ["onnx", "pytorch"])
    assert [p.name for p in plans] == ["plan-pytorch.yaml", "plan-onnx.yaml"]
    for plan, (src, pattern) in zip(plans, SOURCE_FILE.items()):
        read = read_plan(plan)
        assert sorted(m.name for m in read.models) == sorted(ZOO_NAMES) and read.targets == ["onnx", "pytorch"]
        for m in read.models:
            assert m.source == src and m.files == [(zoo_dir / pattern.format(name=m.name)).resolve()]

"""DarkNet and Torch7 networks written by the tests (tests/parity/darknet_models.py, t7_models.py),
converted to every target and checked element-wise against OpenCV's run of the original files
(readNetFromDarknet / readNetFromTorch, an implementation this project did not write).

CI runs a representative slice (CI_PAIRS: yolov3-tiny to every target, yolov4-tiny, a narrow
yolov3 to Keras and CNTK as the README's flow, the section groups, Torch7 to PyTorch and ONNX);
MMBROKER_CORPUS=full (`tox -e zoo`) runs every network to every target, yolov3 also at its published
widths (248 MB of weights). A pair a target cannot express yet is listed in GAPS with the reason:
it must then be refused cleanly, naming the node (it is reported as xfail); when it converts, the
test fails until the entry is removed. A pair whose converted model computes other numbers today
(an emitter bug) is listed in WRONG and marked xfail(strict).
"""

from __future__ import annotations

import os

import pytest
from helpers import check_pair

from broker.errors import BrokerError
from broker.pipeline import InputShape
from parity import darknet_models as dm
from parity import t7_models as tm

FULL = os.environ.get("MMBROKER_CORPUS") == "full"

# name -> (builder of the DarkNet net, min output std for the check)
DARKNET = {
    "yolov3-tiny": (lambda: dm.yolov3_tiny(), 1e-2),
    "yolov4-tiny": (lambda: dm.yolov4_tiny(), 1e-2),
    "yolov3": (lambda: dm.yolov3(divisor=8), 1e-2),  # the published topology, filters / 8
    "yolov3-320x544": (lambda: dm.yolov3((320, 544), divisor=8), 1e-2),
    "darknet19": (lambda: dm.darknet19(divisor=4), 1e-4),  # softmax over 1000 classes
    "ops_activations": (dm.ops_activations, 1e-2),
    "ops_yolov2": (dm.ops_yolov2, 1e-2),
    "ops_classifier": (dm.ops_classifier, 1e-2),
}
if FULL:
    DARKNET["yolov3-full"] = (lambda: dm.yolov3(), 1e-2)
TORCH7 = {name: shape for name, (_, shape) in tm.NETS.items()}

# target -> (framework, suffix of the converted file)
TARGETS = {
    "pytorch": ("pytorch", ".pth"),
    "onnx": ("onnx", ".onnx"),
    "tensorflow": ("tensorflow", ".keras"),
    "mxnet": ("mxnet", ""),
    "coreml": ("coreml", ".mlpackage"),
    "caffe": ("caffe", ".prototxt"),
    "cntk": ("cntk", ".model"),
}

# (model, target) -> why the target's emitter cannot express it yet (emitters are being reworked):
# the conversion must be refused cleanly, naming the node
GAPS = {
    ("yolov4-tiny", "coreml"): "the ML Program emitter has no Slice (yolov4-tiny's route groups)",
    ("ops_activations", "coreml"): "the ML Program emitter has no Softplus (Mish is legalized to Softplus, Tanh, Mul)",
    ("ops_yolov2", "coreml"): "reorg's SpaceToDepth, legalized to Reshape/Transpose, needs rank 6; ML Programs "
    "hold rank 5",
    ("t7_cnn", "coreml"): "the ML Program emitter has no Sqrt (Normalize)",
    ("t7_resnet", "coreml"): "the ML Program emitter has no Pow (SpatialLPPooling)",
}
# (model, target) -> why the converted model computes other numbers today (an emitter bug, found with
# `mmbroker compare --layers`); xfail(strict): when it passes, the entry must go
WRONG: dict[tuple[str, str], str] = {}
REFUSALS = {"unsupported-op", "unsupported-attribute", "unsupported-shape", "emit-failed"}

CI_PAIRS = [("yolov3-tiny", t) for t in TARGETS]
CI_PAIRS += [("yolov4-tiny", t) for t in ("onnx", "pytorch", "tensorflow", "cntk")]
CI_PAIRS += [("yolov3", t) for t in ("pytorch", "tensorflow", "cntk")]
CI_PAIRS += [("yolov3-320x544", "onnx"), ("darknet19", "onnx"), ("darknet19", "caffe")]
CI_PAIRS += [(m, t) for m in ("ops_activations", "ops_yolov2", "ops_classifier") for t in ("onnx", "pytorch")]
CI_PAIRS += [(m, t) for m in TORCH7 for t in ("pytorch", "onnx")]
ALL_PAIRS = [(m, t) for m in list(DARKNET) + list(TORCH7) for t in TARGETS]
PAIRS = ALL_PAIRS if FULL else CI_PAIRS
PARAMS = [pytest.param(m, t, id=f"{m}-to-{t}", marks=[pytest.mark.xfail(strict=True, reason=WRONG[(m, t)])]
                       if (m, t) in WRONG else []) for m, t in PAIRS]  # fmt: skip


@pytest.fixture(scope="session")
def darknet_files(env_or_skip, tmp_path_factory):
    """name -> source files, written on first use."""
    env_or_skip("darknet")
    out = tmp_path_factory.mktemp("darknet_nets")
    made: dict[str, list[str]] = {}

    def get(name: str) -> list[str]:
        if name not in made:
            if name in TORCH7:
                made[name] = [str(tm.write(tm.NETS[name][0](), out / f"{name}.t7"))]
            else:
                made[name] = [str(p) for p in DARKNET[name][0]().write(out, name)]
        return made[name]

    return get


@pytest.fixture(scope="session")
def darknet_ir(session, darknet_files, tmp_path_factory):
    """name -> IR files, parsed once per network for every target."""
    done: dict[str, object] = {}

    def get(name: str):
        if name not in done:
            shape = [InputShape("", TORCH7[name])] if name in TORCH7 else None
            done[name] = session.toir("darknet", darknet_files(name), inputs=shape,
                                      stem=tmp_path_factory.mktemp("darknet-ir") / name)  # fmt: skip
        return done[name]

    return get


@pytest.mark.parity
@pytest.mark.parametrize("name,target", PARAMS)
def test_darknet_to_target(session, env_or_skip, darknet_files, darknet_ir, parity_recorder, tmp_path, name, target):
    fw, suffix = TARGETS[target]
    env_or_skip(fw)
    source = darknet_files(name)
    ir = darknet_ir(name)
    stem = name.replace("-", "_")
    why_not = GAPS.get((name, target))
    try:
        emitted = session.tocode(fw, ir, tmp_path / "code", name=stem,
                                 options={"format": suffix.lstrip(".")} if suffix else {})  # fmt: skip
        written = session.tomodel(fw, emitted, tmp_path / f"{stem}{suffix}", fmt=suffix.lstrip("."))
    except BrokerError as err:
        if why_not is None or err.reference not in REFUSALS:
            raise
        assert err.node or err.file, f"the refusal names no node: {err}"
        pytest.xfail(f"{target} cannot express {name} yet: {why_not} ({err.reference}: {err.message[:200]})")
    assert why_not is None, f"{target} converts {name} now ({why_not} no longer holds): remove it from GAPS"
    min_std = DARKNET[name][1] if name in DARKNET else 1e-2
    check_pair(session, parity_recorder, "darknet", source, fw, written, ir, name, min_std=min_std)


def test_gaps_name_known_pairs():
    for pairs in (GAPS, WRONG):
        assert {m for m, _ in pairs} <= set(DARKNET) | set(TORCH7) and {t for _, t in pairs} <= set(TARGETS)

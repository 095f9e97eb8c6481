"""Models this project did not write (tests/corpus/build.py), each converted from ONNX to every
target and checked element-wise against onnxruntime on the original file.

CI runs a representative slice (CI_SLICE); `tox -e zoo` (MMBROKER_CORPUS=full) runs every model
and writes the README's corpus table. A pair is either converted with parity or, where EXPECTED says
the target cannot hold the model, refused cleanly with the node named; nothing else passes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from corpus.build import CORPUS, INPUT_SHAPES, build, key, registry_file
from helpers import check_pair, run_in_env

from broker import paths
from broker.errors import BrokerError
from broker.pipeline import InputShape

FULL = os.environ.get("MMBROKER_CORPUS") == "full"
CI_SLICE = ["squeezenet", "inception_v1", "shufflenet", "exporter_features", "tf2onnx_cnn", "mxnet_resnet18_v1",
            "ppocr_cls"]  # fmt: skip
MODELS = list(CORPUS) if FULL else CI_SLICE

# target -> (framework, suffix of the converted file, label in the parity table)
TARGETS = {
    "onnx": ("onnx", ".onnx", ""),
    "pytorch": ("pytorch", ".pth", ""),
    "tensorflow": ("tensorflow", ".keras", ""),
    "mxnet": ("mxnet", "", ""),
    "caffe": ("caffe", ".prototxt", ""),
    "cntk": ("cntk", ".model", ""),
    "coreml": ("coreml", ".mlmodel", ""),
    "mlpackage": ("coreml", ".mlpackage", " (.mlpackage)"),
}
REFUSALS = {"unsupported-op", "unsupported-attribute", "missing-input-shape"}


def expected_refusals() -> dict[tuple[str, str], str]:
    """(model, target) -> why the target cannot hold that model (corpus_refusals/<target>.json): the
    conversion must then be refused cleanly, naming the node."""
    out = {}
    for path in sorted((Path(__file__).parent / "corpus_refusals").glob("*.json")):
        for model, why in json.loads(path.read_text()).items():
            out[(model, path.stem)] = why
    return out


EXPECTED = expected_refusals()


@pytest.fixture(scope="session")
def corpus(env_for):
    """name -> path of the corpus model, built once per builder version under $MMBROKER_HOME."""
    root = paths.home() / "corpus" / key()

    def get(name: str) -> Path:
        path = root / f"{name}.onnx"
        if not path.exists():
            build(name, root, run_in_env, env_for)
        if not path.exists():
            assert CORPUS[name][0] == "registry", f"corpus builder wrote no {path}"
            pytest.skip(f"{name} comes from a registry package that is not installed (pip install -e '.[dev]')")
        return path

    return get


@pytest.fixture(scope="session")
def corpus_ir(session, corpus, tmp_path_factory):
    """name -> IR files, parsed once per model for every target."""
    done: dict[str, object] = {}

    def get(name: str):
        if name not in done:
            shape = [InputShape.parse(INPUT_SHAPES[name])] if name in INPUT_SHAPES else None
            done[name] = session.toir("onnx", [str(corpus(name))], inputs=shape,
                                      stem=tmp_path_factory.mktemp("corpus-ir") / name)  # fmt: skip
        return done[name]

    return get


@pytest.mark.parity
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", MODELS)
def test_corpus_model(session, env_or_skip, corpus, corpus_ir, parity_recorder, tmp_path, name, target):
    fw, suffix, label = TARGETS[target]
    env_or_skip(fw)
    source = [str(corpus(name))]
    ir = corpus_ir(name)
    stem = name.replace(".", "_")
    why_not = EXPECTED.get((name, target))
    try:
        emitted = session.tocode(fw, ir, tmp_path / "code", name=stem,
                                 options={"format": suffix.lstrip(".")} if suffix else {})  # fmt: skip
        written = session.tomodel(fw, emitted, tmp_path / f"{stem}{suffix}")
    except BrokerError as err:
        if why_not is None or err.reference not in REFUSALS:
            raise
        assert err.node, f"the refusal names no node: {err}"
        return
    assert why_not is None, f"{target} converts {name} now ({why_not} no longer holds): update corpus_refusals/"
    given = Path(source[0]).with_suffix(".input.npz")
    inputs = dict(np.load(given, allow_pickle=False)) if given.exists() else None
    check_pair(session, parity_recorder, "onnx", source, fw, written, ir, f"zoo:{name}{label}", inputs=inputs)


def test_expected_refusals_name_known_pairs():
    assert {m for m, _ in EXPECTED} <= set(CORPUS) and {t for _, t in EXPECTED} <= set(TARGETS)


def test_registry_models_are_installed():
    """The trained models come from a test dependency; without it the corpus loses them silently."""
    missing = [n for n in ("ppocr_cls", "ppocr_det") if registry_file(n) is None]
    assert not missing, f"rapidocr-onnxruntime is not installed: pip install -e '.[dev]' ({missing})"

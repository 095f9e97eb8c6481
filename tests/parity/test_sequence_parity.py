"""Transformer and recurrent models (tests/parity/transformer_zoo.py: tiny BERT, GPT-2, DistilBERT
and ViT built by `transformers` from their public configs, an LSTM and a GRU) from PyTorch to every
target, checked element-wise against torch on the .pt2.

A pair either converts with parity or is listed in SEQUENCE_GAPS with what the target's emitter
lacks today: those are expected failures (strict, so a pair that starts to pass must be moved out)
until the emitters cover them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import check_pair, run_in_env

from broker import paths
from broker.errors import BrokerError

MODELS = ["bert", "gpt2", "distilbert", "vit", "lstm", "gru"]
TARGETS = {  # target -> (framework, suffix, label)
    "onnx": ("onnx", ".onnx", ""),
    "pytorch": ("pytorch", ".pth", ""),
    "tensorflow": ("tensorflow", ".keras", ""),
    "tflite": ("tensorflow", ".tflite", " (.tflite)"),
    "mxnet": ("mxnet", "", ""),
    "mlpackage": ("coreml", ".mlpackage", " (.mlpackage)"),
    "cntk": ("cntk", ".model", ""),
    "caffe": ("caffe", ".prototxt", ""),
}
# how the generated code of a framework calls GELU (not its erf or tanh arithmetic)
GELU_CALLS = {"pytorch": "nn.GELU(", "tensorflow": "gelu"}
# (model, target) -> what is missing today
SEQUENCE_GAPS: dict[tuple[str, str], str] = {
    **{(m, "caffe"): "products of two computed tensors (attention)" for m in ("bert", "gpt2", "distilbert", "vit")},
    ("gru", "caffe"): "a GRU layer",
}  # fmt: skip
# Targets that keep the free sizes free: checked again at batch 3 and, where the source leaves the
# sequence length free, a longer sequence
KEEP_FREE = {"mlpackage"}


@pytest.fixture(scope="session")
def tzoo(env_or_skip):
    """The models, built once per builder version in the hf tool environment."""
    import hashlib
    from pathlib import Path

    builder = Path(__file__).with_name("transformer_zoo.py")
    key = hashlib.sha256(builder.read_bytes()).hexdigest()[:12]
    out = paths.home() / "transformer-zoo" / key
    if not (out / "transformer_zoo.json").exists():
        run_in_env(env_or_skip("hf"), builder, out)
    return out, {m["name"]: m for m in json.loads((out / "transformer_zoo.json").read_text())}


@pytest.mark.parity
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("name", MODELS)
def test_sequence_model(session, env_or_skip, tzoo, parity_recorder, tmp_path, request, name, target):
    fw, suffix, label = TARGETS[target]
    env_or_skip(fw)
    gap = SEQUENCE_GAPS.get((name, target))
    if gap:
        lacks = pytest.mark.xfail(reason=f"{target} lacks {gap}", strict=True, raises=(BrokerError, AssertionError))
        request.applymarker(lacks)
    folder, index = tzoo
    source = [str(folder / f"{name}.pt2")]
    ir = session.toir("pytorch", source, stem=tmp_path / "ir" / name)
    emitted = session.tocode(fw, ir, tmp_path / "code", name=name,
                             options={"format": suffix.lstrip(".")} if suffix else {},
                             fixed_shapes=_example_shapes(index[name]))  # fmt: skip
    if fw in GELU_CALLS and name in ("bert", "gpt2", "distilbert", "vit"):
        code = Path(next(f.path for f in emitted if f.path.endswith(".py"))).read_text()
        assert GELU_CALLS[fw] in code and "erf(" not in code, "GELU not fused"
    written = session.tomodel(fw, emitted, tmp_path / f"{name}{suffix}")
    check_pair(session, parity_recorder, "pytorch", source, fw, written, ir, f"seq:{name}{label}",
               inputs=_inputs(index[name]))  # fmt: skip
    if target in KEEP_FREE:
        check_pair(session, parity_recorder, "pytorch", source, fw, written, ir, f"seq:{name}{label} at batch 3",
                   inputs=_inputs(index[name], batch=3, longer=5))  # fmt: skip


def _example_shapes(entry) -> dict[str, list[int]]:
    """Batch 1 and the example's other sizes: what the check runs at."""
    return {i["name"]: [1] + list(i["example_shape"][1:]) for i in entry["inputs"]}


def _inputs(entry, batch=1, longer=0):
    """Seeded inputs at the example's sizes, or at `batch` with a sequence length (axis 1) `longer`
    where the source leaves it free."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    for spec, shape in zip(entry["inputs"], _example_shapes(entry).values()):
        shape = [batch] + shape[1:]
        if len(shape) > 1 and spec["shape"][1] == -1:
            shape[1] += longer
        if spec["dtype"] == "int64":
            lo, hi = spec["range"]
            out[spec["name"]] = rng.integers(lo, hi + 1, size=shape).astype(np.int64)
        else:
            out[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
    return out

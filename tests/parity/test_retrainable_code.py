"""The generated PyTorch and Keras code of the tiny BERT and ViT (tests/parity/transformer_zoo.py) is
code a person would retrain: its layers are named after the source model's parameter paths (never a
neighbour's), GELU, LayerNorm and attention are the framework's own calls, and the model trains one step at
batch 3 with the loss going down (run in the framework's runner environment by retrain_step.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_in_env

from broker.errors import BrokerError
from parity.test_sequence_parity import tzoo  # noqa: F401  (the fixture: the models, built once)

STEP = Path(__file__).with_name("retrain_step.py")
BATCH = 3
# (model, framework) -> what the emitter lacks today
GAPS: dict[tuple[str, str], str] = {}
# layers holding weights in the generated code: PyTorch modules, Keras layers
PYTORCH_LAYER = re.compile(r"^\s+self\.(\w+) = nn\.(Linear|LayerNorm|Conv\dd|Embedding)\(", re.M)
PYTORCH_PARAMETER = re.compile(r"^\s+self\.(\w+) = nn\.Parameter\(", re.M)
KERAS_LAYER = re.compile(r"layers\.(Dense|LayerNormalization|Conv\dD|Embedding)\(.*name='(\w+)'\)")


def _ident(path: str) -> str:
    return re.sub(r"\W+", "_", path)


def _result(proc) -> dict:
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


@pytest.mark.parity
@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("name", ["bert", "vit"])
def test_retrainable_code(session, env_or_skip, tzoo, tmp_path, request, name, framework):  # noqa: F811
    handle = env_or_skip(framework)
    torch_env = env_or_skip("pytorch")
    gap = GAPS.get((name, framework))
    if gap:
        request.applymarker(pytest.mark.xfail(reason=f"{framework} lacks {gap}", strict=True, raises=BrokerError))
    folder, index = tzoo
    pt2 = folder / f"{name}.pt2"
    specs = [{**i, "shape": [BATCH, *i["example_shape"][1:]]} for i in index[name]["inputs"]]
    ir = session.toir("pytorch", [str(pt2)], stem=tmp_path / "ir" / name)
    code = tmp_path / "code"
    session.tocode(framework, ir, code, name=name, fixed_shapes={s["name"]: s["shape"] for s in specs})
    source = (code / f"{name}.py").read_text()

    # names: every layer with weights is named after a module of the source, each source module
    # with weights is a layer (or, for a bare parameter, a trainable weight) of the same name
    params = _result(run_in_env(torch_env, STEP, "params", pt2))["params"]
    modules = {_ident(p.rsplit(".", 1)[0]) for p in params if p.rsplit(".", 1)[-1] in ("weight", "bias")}
    if framework == "pytorch":
        layers = {attr for attr, _ in PYTORCH_LAYER.findall(source)}
        bare = set(PYTORCH_PARAMETER.findall(source))
        assert "nn.GELU()" in source and "torch.erf" not in source
        assert "nn.LayerNorm(" in source
        assert source.count("F.scaled_dot_product_attention(") == 2 and "torch.softmax" not in source
    else:
        layers = {layer for _, layer in KERAS_LAYER.findall(source)}
        bare = set()
        assert "layers.Activation('gelu'" in source and "keras.ops.erf" not in source
        assert "layers.LayerNormalization(" in source
        assert source.count("keras.ops.dot_product_attention(") == 2 and "Softmax" not in source
    assert layers, source
    assert layers <= modules, f"layers named after no source module: {sorted(layers - modules)}"
    missing = {m for m in modules if m not in layers and not any(b.startswith(m + "_") for b in bare)}
    if framework == "pytorch":
        assert not missing, f"source modules without a layer of their name: {sorted(missing)}"
        # a bare parameter of the source (ViT's cls_token) stays trainable
        for p in params:
            if p.rsplit(".", 1)[-1] not in ("weight", "bias") and _ident(p) in source:
                assert _ident(p) in bare, p
    else:  # Keras keeps ViT's position embeddings and cls token as constants: only the layers count
        assert not {m for m in missing if "embeddings" not in m}, sorted(missing)

    # one training step at batch 3: the loss goes down
    step = _result(run_in_env(handle, STEP, framework, code, name, json.dumps(specs)))
    assert step["batch"] == BATCH
    assert step["trainable"]
    assert step["after"] < step["before"], step

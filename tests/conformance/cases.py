"""The onnx package's node test cases, regenerated from its case code (onnx no longer ships the data),
brought to the IR opset, and cached under $MMBROKER_HOME/conformance/onnx-<version>/.

Each case: `<name>/model.onnx` and `<name>/data_<k>.npz` with `in_<i>` / `out_<i>` arrays.
Cases the IR cannot carry are excluded with a reason (see EXCLUDE_RULES).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import version_converter

from broker import paths
from runners.common.ir import IR_OPSET

NONDETERMINISTIC = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli",
                    "Multinomial"}  # fmt: skip


@dataclass
class Case:
    name: str
    model_path: Path
    data: list[Path]
    rtol: float
    atol: float
    ops: list[str] = field(default_factory=list)

    def load(self):
        return onnx.load(str(self.model_path))

    def datasets(self):
        for p in self.data:
            with np.load(p, allow_pickle=False) as z:
                ins = [z[f"in_{i}"] for i in range(sum(1 for k in z.files if k.startswith("in_")))]
                outs = [z[f"out_{i}"] for i in range(sum(1 for k in z.files if k.startswith("out_")))]
            yield ins, outs


def as_array(value):
    """Case data comes as ndarrays or as TensorProtos (the Cast cases)."""
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    return value


def exclusion(model: onnx.ModelProto, data_sets) -> str:
    """Why the IR cannot carry this case, or ''."""
    domains = {o.domain for o in model.opset_import} - {"", "ai.onnx"}
    if domains:
        return f"outside the ai.onnx domain ({', '.join(sorted(domains))})"
    for vi in list(model.graph.input) + list(model.graph.output):
        if not vi.type.HasField("tensor_type"):
            return "non-tensor value (sequence, optional or map); the IR carries tensors only"
        if vi.type.tensor_type.elem_type == onnx.TensorProto.STRING:
            return "string tensors; the IR carries numeric tensors only"
    ops = {n.op_type for n in model.graph.node}
    if any(n.op_type == "Dropout" and len(n.input) == 3 and n.input[2] for n in model.graph.node):
        return "random op: Dropout in training mode"
    if ops & NONDETERMINISTIC:
        return "random op: outputs are not reproducible across runtimes"
    if any(n.op_type in ("Loop", "If", "Scan") for n in model.graph.node):
        return "control flow with subgraphs is not in the IR yet"
    for ins, outs in data_sets:
        for a in list(ins) + list(outs):
            if isinstance(a, (list, dict)) or a is None:
                return "sequence, map or optional data; the IR carries tensors only"
            arr = np.asarray(as_array(a))
            if arr.dtype.kind not in "biuf":
                return f"dtype {arr.dtype}: runner tensors carry numpy's own numeric dtypes only"
    return ""


def _opset(model):
    v = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return v[0] if v else IR_OPSET


def to_ir_opset(model: onnx.ModelProto) -> tuple[onnx.ModelProto | None, str]:
    if _opset(model) == IR_OPSET:
        return model, ""
    try:
        converted = version_converter.convert_version(model, IR_OPSET)
        onnx.checker.check_model(converted)
        return converted, ""
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return None, f"opset {_opset(model)} case cannot be expressed at the IR opset {IR_OPSET}: {first}"


def cache_dir() -> Path:
    return paths.home() / "conformance" / f"onnx-{onnx.__version__}-opset{IR_OPSET}"


def generate(target: Path) -> None:
    from onnx.backend.test.case import node

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    excluded = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    for c in cases:
        sets = list(c.data_sets or [])
        reason = exclusion(c.model, sets)
        model = None
        if not reason:
            model, reason = to_ir_opset(c.model)
        if reason:
            excluded[c.name] = reason
            continue
        d = tmp / c.name
        d.mkdir()
        onnx.save(model, str(d / "model.onnx"))
        for k, (ins, outs) in enumerate(sets):
            arrays = {f"in_{i}": np.asarray(as_array(a)) for i, a in enumerate(ins)}
            arrays.update({f"out_{i}": np.asarray(as_array(a)) for i, a in enumerate(outs)})
            np.savez(d / f"data_{k}.npz", **arrays)
        (d / "case.json").write_text(json.dumps({"rtol": c.rtol, "atol": c.atol}))
    (tmp / "excluded.json").write_text(json.dumps(excluded, indent=1, sort_keys=True))
    (tmp / "complete").write_text(str(len(cases)))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def load_cases() -> tuple[list[Case], dict[str, str]]:
    target = cache_dir()
    if not (target / "complete").exists():
        generate(target)
    cases = []
    for d in sorted(p for p in target.iterdir() if p.is_dir()):
        meta = json.loads((d / "case.json").read_text())
        model = onnx.load(str(d / "model.onnx"), load_external_data=False)
        cases.append(Case(d.name, d / "model.onnx", sorted(d.glob("data_*.npz")), meta["rtol"], meta["atol"],
                          sorted({n.op_type for n in model.graph.node})))  # fmt: skip
    excluded = json.loads((target / "excluded.json").read_text())
    return cases, excluded

"""IR files: `<stem>.pb` (graph, initializers without data), `<stem>.npz` (weights), `<stem>.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from runners.common import ir as common_ir
from runners.common.tensors import atomic_write, load_npz, save_npz

from ..errors import BrokerError


@dataclass(frozen=True)
class IRFiles:
    graph: Path
    weights: Path
    summary: Path

    @classmethod
    def for_stem(cls, stem: Path) -> IRFiles:
        stem = Path(stem)
        if stem.suffix in (".pb", ".npz", ".json"):
            stem = stem.with_suffix("")
        return cls(stem.with_suffix(".pb"), stem.with_suffix(".npz"), stem.with_suffix(".json"))


def read_graph(path: Path) -> onnx.ModelProto:
    path = Path(path)
    if not path.exists():
        raise BrokerError(
            f"IR graph not found: {path}",
            reference="missing-file",
            file=str(path),
            hint="give the .pb written by `mmbroker toir`",
        )
    model = onnx.ModelProto()
    try:
        model.ParseFromString(path.read_bytes())
    except Exception as exc:
        raise BrokerError(
            f"not an IR graph ({exc})",
            reference="corrupt-model",
            file=str(path),
            hint="give the .pb written by `mmbroker toir`",
        ) from exc
    return model


def load_ir(path: Path | str, weights: Path | str | None = None) -> onnx.ModelProto:
    """A full ONNX model from IR files (`x.pb` + `x.npz`), or from an `.onnx` file."""
    path = Path(path)
    if path.suffix == ".onnx":
        if not path.exists():
            raise BrokerError("model not found", reference="missing-file", file=str(path))
        try:
            return onnx.load(str(path))
        except Exception as exc:
            raise BrokerError(f"not an ONNX model ({exc})", reference="corrupt-model", file=str(path)) from exc
    files = IRFiles.for_stem(path)
    model = read_graph(files.graph)
    wpath = Path(weights) if weights else files.weights
    arrays: dict[str, np.ndarray] = {}
    if model.graph.initializer:
        if not wpath.exists():
            raise BrokerError(
                "IR weights not found",
                reference="missing-file",
                file=str(wpath),
                hint="the .npz written beside the graph is needed",
            )
        try:
            arrays = load_npz(str(wpath))
        except Exception as exc:
            raise BrokerError(f"cannot read IR weights ({exc})", reference="corrupt-model", file=str(wpath)) from exc
    try:
        return common_ir.join(model, arrays)
    except KeyError as exc:
        raise BrokerError(
            f"no weights for initializer {exc}",
            reference="missing-weight",
            file=str(wpath),
            hint="graph and weights come from different conversions",
        ) from exc


def save_ir(model: onnx.ModelProto, stem: Path | str) -> IRFiles:
    """Write graph, weights and summary, each atomically."""
    from .summary import summarize

    files = IRFiles.for_stem(Path(stem))
    graph, weights = common_ir.split(model)
    save_npz(str(files.weights), weights)
    atomic_write(str(files.graph), lambda tmp: Path(tmp).write_bytes(graph.SerializeToString()))
    text = json.dumps(summarize(model), indent=2)
    atomic_write(str(files.summary), lambda tmp: Path(tmp).write_text(text + "\n"))
    return files


def write_graph_bytes(graph: bytes, weights_path: Path, stem: Path) -> IRFiles:
    """Place a runner's Parse result (graph bytes + weights file) as IR files under `stem`."""
    model = common_ir.join(graph, load_npz(str(weights_path)))
    return save_ir(model, stem)

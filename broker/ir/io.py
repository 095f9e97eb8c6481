"""IR files: `<stem>.pb` (graph, initializers without data), `<stem>.npz` (weights), `<stem>.json`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx

from runners.common import ir as common_ir
from runners.common.tensors import atomic_write, load_npz

from ..errors import BrokerError
from . import inputs
from . import weights as ir_weights
from .files import IRFiles


def read_graph(path: Path) -> onnx.ModelProto:
    path = Path(path)
    folder = path if path.is_dir() else path.with_suffix("")
    if path.is_dir() or (not path.exists() and folder.is_dir()):
        raise BrokerError(
            "this is a folder, not an IR graph",
            reference="not-a-file",
            file=str(folder),
            hint="give the .pb written by `mmbroker toir` (its .npz beside it)",
        )
    if not path.exists():
        raise BrokerError(
            f"IR graph not found: {path}",
            reference="missing-file",
            file=str(path),
            hint="give the .pb written by `mmbroker toir`",
        )
    model = onnx.ModelProto()
    data = path.read_bytes()
    try:
        model.ParseFromString(data)
    except Exception as exc:
        raise BrokerError(
            f"not an IR graph ({exc})",
            reference="corrupt-model",
            file=str(path),
            hint="give the .pb written by `mmbroker toir`",
        ) from exc
    digest = hashlib.sha1(data).digest()
    if digest not in _TEXT_CHECKED:  # a conversion reads the same graph several times
        check_text(model, path)
        _TEXT_CHECKED.add(digest)
    return model


_TEXT_CHECKED: set[bytes] = set()  # sha1 of graph files whose strings were found to be text


def check_text(model: onnx.ModelProto, path: Path) -> None:
    """Every name in the graph is text (see `non_text_field`)."""
    found = common_ir.non_text_field(model)
    if found:
        raise BrokerError(
            f"{found[0]} is not UTF-8 text: {found[1][:60]!r}",
            reference="corrupt-model",
            file=str(path),
            hint="the file is damaged; copy or export it again",
        )


def load_ir(path: Path | str, weights: Path | str | None = None, *, lazy: bool = False) -> onnx.ModelProto:
    """A full ONNX model from IR files (`x.pb` + `x.npz`), or from an `.onnx` file. With `lazy`,
    the large weights of IR files stay in their .npz as stubs (broker/ir/weights.py), read only
    by a pass that needs them."""
    path = Path(path)
    if path.suffix == ".onnx":
        if not path.exists():
            raise BrokerError("model not found", reference="missing-file", file=str(path))
        if path.is_dir():
            raise BrokerError("this is a folder, not an ONNX model", reference="not-a-file", file=str(path))
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:
            raise BrokerError(f"not an ONNX model ({exc})", reference="corrupt-model", file=str(path)) from exc
        problem = common_ir.external_data_problem(model, str(path.resolve().parent))
        if problem:
            raise BrokerError(
                problem[1], reference=problem[0], file=str(path), hint=common_ir.EXTERNAL_DATA_HINTS[problem[0]]
            )
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(path.resolve().parent))
        except Exception as exc:
            raise BrokerError(f"cannot read its external data ({exc})", reference="corrupt-model", file=str(path))
        check_text(model, path)
        return model
    files = IRFiles.for_stem(path)
    model = read_graph(files.graph)
    wpath = Path(weights) if weights else files.weights
    arrays: dict[str, np.ndarray] = {}
    index = None
    if model.graph.initializer:
        if wpath.is_dir():
            raise BrokerError("the IR weights are a folder", reference="not-a-file", file=str(wpath))
        if not wpath.exists():
            raise BrokerError(
                "IR weights not found",
                reference="missing-file",
                file=str(wpath),
                hint="the .npz written beside the graph is needed",
            )
        try:
            if lazy:
                index = ir_weights.index_npz(wpath)
            else:
                arrays = load_npz(str(wpath))
        except Exception as exc:
            raise BrokerError(f"cannot read IR weights ({exc})", reference="corrupt-model", file=str(wpath)) from exc
    try:
        if index is not None:
            return ir_weights.attach(model, index)
        return common_ir.join(model, arrays)
    except KeyError as exc:
        raise BrokerError(
            f"no weights for initializer {exc}",
            reference="weights-mismatch",
            file=str(wpath),
            hint="graph and weights come from different conversions",
        ) from exc
    except common_ir.WeightsMismatch as exc:
        raise BrokerError(
            str(exc),
            reference="weights-mismatch",
            file=str(wpath),
            hint="graph and weights come from different conversions",
        ) from exc
    except ValueError as exc:  # an array whose bytes are cut short
        raise BrokerError(f"cannot read IR weights ({exc})", reference="corrupt-model", file=str(wpath)) from exc


def save_ir(model: onnx.ModelProto, stem: Path | str) -> IRFiles:
    """Write graph, weights and summary, each atomically. Weights that are stubs of one unchanged
    .npz are handed on as that file (broker/ir/weights.py)."""
    from .summary import summarize

    files = IRFiles.for_stem(Path(stem))
    ir_weights.write_weights(model, files.weights)
    graph = ir_weights.graph_only(model).SerializeToString()
    atomic_write(str(files.graph), lambda tmp: Path(tmp).write_bytes(graph))
    text = json.dumps({**summarize(model), inputs.DIGEST_KEY: inputs.digest(graph)}, indent=2)
    atomic_write(str(files.summary), lambda tmp: Path(tmp).write_text(text + "\n"))
    return files


def write_graph_bytes(graph: bytes, weights_path: Path, stem: Path) -> IRFiles:
    """Place a runner's Parse result (graph bytes + weights file) as IR files under `stem`."""
    return save_ir(ir_weights.attach(graph, ir_weights.index_npz(weights_path)), stem)

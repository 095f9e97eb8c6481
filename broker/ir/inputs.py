"""A graph's inputs (name, sizes, dtype, dimension names, the range of integer ids), as the check
needs them to make its inputs.

A conversion served from the caches (broker/ircache.py) needs nothing else of its IR, and reading
the graph needs onnx, whose import is 50 ms of such a conversion's 0.8 s. So `save_ir` records the
inputs in the summary it writes beside the graph (`describe`), with the graph's sha256, and `read`
takes them from there when the graph's bytes still have that digest; otherwise (a summary edited,
missing, or written for another graph) it reads the graph.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import IRFiles

if TYPE_CHECKING:
    import onnx

DIGEST_KEY = "graph_sha256"  # the summary's record of the graph file it describes


@dataclass(frozen=True)
class GraphInput:
    name: str
    shape: list[int | None]  # None: a free dimension
    dtype: str  # numpy's name
    dim_names: list[str]  # the graph's name of each dimension (ONNX dim_param), "" where it has none
    range: tuple[int, int] | None = None  # [low, high) of integer ids that index a table (ir/ranges.py)


def describe(model: onnx.ModelProto) -> list[GraphInput]:
    import onnx

    from runners.common import ir as common_ir

    from .ranges import integer_input_ranges

    ranges = integer_input_ranges(model)
    found = []
    for vi in common_ir.graph_inputs(model):
        t = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else "float32"
        names = [d.dim_param if d.HasField("dim_param") else "" for d in t.shape.dim]
        found.append(GraphInput(vi.name, shape, dtype, names, ranges.get(vi.name)))
    return found


def summary_fields(found: GraphInput) -> dict[str, Any]:
    """What the summary's entry of an input holds beside its name, shape and dtype (which give the
    sizes: a number above 0, or the dimension free; and the dtype, "?" for none, read as float32)."""
    fields: dict[str, Any] = {"dim_names": found.dim_names}
    if found.range is not None:
        fields["range"] = list(found.range)
    return fields


def digest(graph: bytes) -> str:
    return hashlib.sha256(graph).hexdigest()


def read(files: IRFiles) -> list[GraphInput]:
    """The inputs of the IR graph `files.graph`: from its summary when that describes these bytes.
    Read once per version of the two files (a conversion asks for them several times)."""
    try:
        key = (files, *(_stamp(p) for p in (files.graph, files.summary)))
    except OSError:
        key = None
    if key is not None and key in _read:
        return _read[key]
    found = _from_summary(files, files.graph.read_bytes()) if key is not None else None
    if found is None:
        from .io import read_graph

        found = describe(read_graph(files.graph))
    if key is not None:
        _read.clear()  # the last IR asked about is the one asked about again
        _read[key] = found
    return found


_read: dict[tuple[Any, ...], list[GraphInput]] = {}


def _stamp(path: Path) -> tuple[int, int, int, int]:
    """A file's device, inode, size and change time: files are replaced by renames, not rewritten."""
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _from_summary(files: IRFiles, graph: bytes) -> list[GraphInput] | None:
    try:
        summary = json.loads(files.summary.read_text())
        if summary.get(DIGEST_KEY) != digest(graph):
            return None
        return [
            GraphInput(
                i["name"],
                [d if isinstance(d, int) and d > 0 else None for d in i["shape"]],
                "float32" if i["dtype"] == "?" else i["dtype"],
                list(i["dim_names"]),
                (int(i["range"][0]), int(i["range"][1])) if "range" in i else None,
            )
            for i in summary["inputs"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

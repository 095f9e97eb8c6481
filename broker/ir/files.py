"""The three files of an IR on disk, by their stem. No onnx here: a conversion served from the caches
names IR files without reading them as graphs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IRFiles:
    graph: Path  # <stem>.pb: the graph, initializers without data
    weights: Path  # <stem>.npz
    summary: Path  # <stem>.json: broker/ir/summary.py

    @classmethod
    def for_stem(cls, stem: Path) -> IRFiles:
        stem = Path(stem)
        if stem.suffix in (".pb", ".npz", ".json"):
            stem = stem.with_suffix("")
        return cls(stem.with_suffix(".pb"), stem.with_suffix(".npz"), stem.with_suffix(".json"))

"""Which catalogue entry a model file came from, and the image preprocessing that goes with it.

`mmbroker download` records the SHA-256 of every file it puts in place (and of what it assembles)
in `$MMBROKER_HOME/downloads/index.json`; `convert` given an image as `--input`, and no
preprocessing options, looks its source files up there and preprocesses the image as the
catalogue says the model expects (channel order, scale, mean, std, layout).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runners.common.tensors import atomic_write

from .. import paths
from ..inputs import IMAGE_SUFFIXES, ImagePreprocess


def index_path() -> Path:
    return paths.home() / "downloads" / "index.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_index() -> dict[str, Any]:
    try:
        data = json.loads(index_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record(files: list[Path], key: str, preprocessing: dict[str, Any]) -> None:
    index = _read_index()
    for f in files:
        if f.is_file():
            index[_sha256(f)] = {"entry": key, "file": f.name, "preprocessing": preprocessing}
    index_path().parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(index, indent=1, sort_keys=True)
    atomic_write(str(index_path()), lambda tmp: Path(tmp).write_text(text))


def entry_for(sources: list[str]) -> dict[str, Any] | None:
    index = _read_index()
    if not index:
        return None
    for s in sources:
        p = Path(s)
        if p.is_file():
            found = index.get(_sha256(p))
            if found:
                return dict(found)
    return None


def to_image_preprocess(pre: dict[str, Any]) -> ImagePreprocess:
    size = pre.get("size")
    return ImagePreprocess(
        size=(int(size[0]), int(size[1])) if size else None,
        order=str(pre.get("order", "rgb")),
        scale=float(pre.get("scale", 1 / 255)),
        mean=tuple(float(m) for m in pre.get("mean", (0.0,))),
        std=tuple(float(s) for s in pre.get("std", (1.0,))),
        layout=str(pre.get("layout", "nchw")),
    )


def image_preprocess_for(
    sources: list[str], input_file: Path | None, given: ImagePreprocess | None = None
) -> tuple[ImagePreprocess, str]:
    """The preprocessing for an image `--input`, and a note saying where it came from: the
    catalogue's when the model came from it and none was given on the command line, else `given`
    (or the defaults)."""
    default = given or ImagePreprocess()
    if input_file is None or input_file.suffix.lower() not in IMAGE_SUFFIXES:
        return default, ""
    if given is not None and given != ImagePreprocess(size=given.size):
        return given, ""  # the user chose
    found = entry_for(sources)
    if not found:
        return default, ""
    pre = to_image_preprocess(found["preprocessing"])
    if given is not None and given.size is not None:
        pre = ImagePreprocess(given.size, pre.order, pre.scale, pre.mean, pre.std, pre.layout)
    note = (
        f"image preprocessing of the catalogue's {found['entry']} (the source is its {found['file']}): "
        f"{pre.order}, x * {pre.scale:g}, mean {', '.join(f'{m:g}' for m in pre.mean)}, "
        f"std {', '.join(f'{v:g}' for v in pre.std)}, {pre.layout}"
    )
    return pre, note

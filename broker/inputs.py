"""Input tensors for inference and verification: seeded random, .npy/.npz, or an image with the
preprocessing the user gives (size, channel order, scale, mean, std)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import parity
from .errors import BrokerError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
Spec = tuple[str, list[int | None], str]


@dataclass
class ImagePreprocess:
    """How an image becomes the model's input: resized to (height, width) of the input shape unless
    `size` is given, channels in `order`, x = (pixel * scale - mean) / std per channel, NCHW."""

    size: tuple[int, int] | None = None
    order: str = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    layout: str = "nchw"

    @staticmethod
    def floats(text: str | None, what: str) -> tuple[float, ...] | None:
        if not text:
            return None
        try:
            return tuple(float(eval_fraction(t)) for t in text.split(","))
        except ValueError:
            raise BrokerError(f"cannot read {what} {text!r}", reference="bad-option",
                              hint=f"write {what} as numbers separated by commas, e.g. 0.485,0.456,0.406")  # fmt: skip


def eval_fraction(text: str) -> float:
    """`0.5`, `1/255`."""
    num, _, den = text.strip().partition("/")
    return float(num) / float(den) if den else float(num)


def load_image(path: Path, spec: Spec, prep: ImagePreprocess) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as exc:  # pillow is a dependency; this only guards a broken install
        raise BrokerError("reading images needs Pillow", reference="missing-dependency",
                          hint="pip install pillow") from exc  # fmt: skip
    name, shape, dtype = spec
    try:
        with Image.open(path) as opened:
            opened.load()
            channels = (shape[1] if prep.layout == "nchw" else shape[-1]) if len(shape) == 4 else 3
            img = opened.convert("L" if channels == 1 else "RGB")
    except Exception as exc:
        raise BrokerError(f"cannot read the image: {exc}", reference="bad-input", file=str(path),
                          hint="give a PNG/JPEG image, or an .npy/.npz tensor file") from exc  # fmt: skip
    h: int | None
    w: int | None
    if prep.size:
        h, w = prep.size
    elif len(shape) == 4:
        h, w = (shape[2], shape[3]) if prep.layout == "nchw" else (shape[1], shape[2])
    else:
        w, h = img.size
    if h and w:
        img = img.resize((int(w), int(h)), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if prep.order.lower() == "bgr":
        arr = arr[:, :, ::-1]
    arr = arr * prep.scale
    mean = np.asarray(prep.mean, np.float32)
    std = np.asarray(prep.std, np.float32)
    arr = (arr - mean) / std
    if prep.layout == "nchw":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr[None]).astype(dtype or "float32")


def load_inputs(path: Path | None, specs: list[Spec], seed: int,
                image: ImagePreprocess | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Inputs keyed by input name: from `path` (.npy, .npz, image) or seeded random."""
    if path is None:
        return parity.seeded_inputs(specs, seed)
    if not path.exists():
        raise BrokerError("input file not found", reference="missing-file", file=str(path))
    names = [s[0] for s in specs]
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if len(specs) != 1:
            raise BrokerError(f"the model has {len(specs)} inputs {names}; one image given", reference="bad-input",
                              file=str(path), hint="give an .npz keyed by input name")  # fmt: skip
        return {names[0]: load_image(path, specs[0], image or ImagePreprocess())}
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            if len(data) == len(names) and not set(data) <= set(names):
                data = dict(zip(names, data.values()))
            return data
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            if len(names) != 1:
                raise BrokerError(f"the model has {len(names)} inputs {names}; one .npy given", reference="bad-input",
                                  file=str(path), hint="give an .npz keyed by input name")  # fmt: skip
            return {names[0]: arr}
    except BrokerError:
        raise
    except Exception as exc:
        raise BrokerError(f"cannot read input tensors: {exc}", reference="bad-input", file=str(path),
                          hint="give a .npy or .npz written by numpy (no pickled objects)") from exc  # fmt: skip
    raise BrokerError("inputs must be .npy, .npz or an image", reference="bad-input", file=str(path),
                      hint=f"image types: {', '.join(sorted(IMAGE_SUFFIXES))}")  # fmt: skip


def describe_inputs(inputs: dict[str, np.ndarray], source: str) -> list[dict[str, object]]:
    return [
        {"name": n, "shape": list(a.shape), "dtype": a.dtype.name, "source": source,
         "mean": float(a.mean()) if a.size else 0.0, "std": float(a.std()) if a.size else 0.0}
        for n, a in inputs.items()
    ]  # fmt: skip

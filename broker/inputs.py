"""Input tensors for inference and verification: seeded random, .npy/.npz, or an image with the
preprocessing the user gives (size, channel order, scale, mean, std)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import parity
from .errors import BrokerError
from .shapes import ChosenDim, ShapeHint, Spec, check_size, other_value, resolve

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


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


PICKLED_HINT = "save plain numeric arrays with numpy.save / numpy.savez (no object arrays, no pickles)"


@dataclass
class InputFile:
    """A user's --input, opened before any work starts: .npy/.npz arrays read (never unpickled),
    an image only checked to exist (it is read once the model's input shape is known)."""

    path: Path
    arrays: dict[str, np.ndarray] | None  # None for an image
    keyed: bool = False  # .npz: keys are input names

    @property
    def is_image(self) -> bool:
        return self.arrays is None


def _pickled(path: Path) -> BrokerError:
    return BrokerError("the input file contains pickled objects, which mmbroker never loads",
                       reference="bad-input", file=str(path), hint=PICKLED_HINT)  # fmt: skip


def open_input(path: Path) -> InputFile:
    """Check and read --input before any runner starts: `missing-file`, `not-a-file`, or `bad-input`
    for a pickle, an object array, an unknown type or an unreadable file."""
    if not path.exists():
        raise BrokerError("input file not found", reference="missing-file", file=str(path),
                          hint="check the path given with --input")  # fmt: skip
    if not path.is_file():
        raise BrokerError("the input is a folder, not a file", reference="not-a-file", file=str(path),
                          hint="give an .npy, .npz or image file with --input")  # fmt: skip
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return InputFile(path, None)
    if suffix not in (".npy", ".npz"):
        raise BrokerError("inputs must be .npy, .npz or an image", reference="bad-input", file=str(path),
                          hint=f"image types: {', '.join(sorted(IMAGE_SUFFIXES))}")  # fmt: skip
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:1] == b"\x80":  # a pickle stream (protocol 2 and later), whatever the file is named
        raise _pickled(path)
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return InputFile(path, {k: z[k] for k in z.files}, keyed=True)
        return InputFile(path, {"": np.load(path, allow_pickle=False)})
    except ValueError as exc:
        if "pickle" in str(exc) or "Object arrays" in str(exc):
            raise _pickled(path) from exc
        raise BrokerError(f"cannot read input tensors: {exc}", reference="bad-input", file=str(path),
                          hint=PICKLED_HINT) from exc  # fmt: skip
    except Exception as exc:
        raise BrokerError(f"cannot read input tensors: {exc}", reference="bad-input", file=str(path),
                          hint="give a .npy or .npz written by numpy") from exc  # fmt: skip


def _expected(shape: list[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _cast(name: str, arr: np.ndarray, dtype: str, path: Path, model: str) -> np.ndarray:
    """The array in the input's dtype: floats to any float width, integers to integers when every
    value fits; anything else is `bad-input`."""
    want = np.dtype(dtype or "float32")
    if arr.dtype == want:
        return arr
    ok = arr.dtype.kind == want.kind == "f" or (want.kind == "f" and arr.dtype.kind in "iu")
    if arr.dtype.kind in "iu" and want.kind in "iu":
        info = np.iinfo(want)
        ok = arr.size == 0 or (int(arr.min()) >= info.min and int(arr.max()) <= info.max)
    if arr.dtype.kind == "b" and want.kind in "biu":
        ok = True
    if not ok:
        raise BrokerError(f"input {name!r} is {want.name} in {model}; {path.name} gives {arr.dtype.name}",
                          reference="bad-input", file=str(path),
                          hint=f"save the array as {want.name}")  # fmt: skip
    return arr.astype(want)


def match_inputs(given: InputFile, specs: list[Spec], model: str = "the model") -> dict[str, np.ndarray]:
    """The file's arrays keyed by the model's input names, checked against the model: every input
    given once (`bad-input`), every fixed dimension equal (`bad-shape`, naming input, expected and
    given shapes), dtypes that convert without loss of kind."""
    assert given.arrays is not None
    path, names = given.path, [s[0] for s in specs]
    data = dict(given.arrays)
    if not given.keyed:
        if len(specs) != 1:
            raise BrokerError(f"{model} has {len(names)} inputs {names}; one .npy given", reference="bad-input",
                              file=str(path), hint="give an .npz keyed by input name")  # fmt: skip
        data = {names[0]: data[""]}
    elif set(data) != set(names):
        if len(data) == len(names) and not set(data) & set(names):  # unnamed (arr_0, ...): in order
            data = dict(zip(names, data.values()))
        else:
            missing, extra = sorted(set(names) - set(data)), sorted(set(data) - set(names))
            raise BrokerError(
                f"the inputs of {model} are {names}; {path.name} holds {sorted(data)}"
                + (f" (missing {missing})" if missing else "") + (f" (unknown {extra})" if extra else ""),
                reference="bad-input", file=str(path), hint="key the .npz by the model's input names",
            )  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for name, shape, dtype in specs:
        arr = np.asarray(data[name])
        if arr.ndim != len(shape) or any(d is not None and d != a for d, a in zip(shape, arr.shape)):
            raise BrokerError(f"input {name!r} of {model} expects shape {_expected(shape)}, {path.name} gives "
                              f"{list(arr.shape)}", reference="bad-shape", file=str(path),
                              hint="give an input of the model's shape (? is free)")  # fmt: skip
        out[name] = _cast(name, arr, dtype, path, model)
    return out


def load_inputs(path: Path | InputFile | None, specs: list[Spec], seed: int, image: ImagePreprocess | None = None,
                model: str = "the model") -> dict[str, np.ndarray]:  # fmt: skip
    """Inputs keyed by input name: from `path` (.npy, .npz, image), checked against `specs`, or
    seeded random (free dimensions as `shapes.resolve` chooses them)."""
    if path is None:
        return parity.seeded_inputs(specs, seed)
    given = path if isinstance(path, InputFile) else open_input(path)
    if not given.is_image:
        return match_inputs(given, specs, model)
    names = [s[0] for s in specs]
    if len(specs) != 1:
        raise BrokerError(f"{model} has {len(specs)} inputs {names}; one image given", reference="bad-input",
                          file=str(given.path), hint="give an .npz keyed by input name")  # fmt: skip
    check_size([(n, [d or 1 for d in s], t) for n, s, t in specs], model=model)  # resized to the fixed sizes
    arr = load_image(given.path, specs[0], image or ImagePreprocess())
    return match_inputs(InputFile(given.path, {names[0]: arr}, keyed=True), specs, model)


@dataclass
class PreparedInputs:
    """The inputs of a run, where they came from, and the values given to free dimensions."""

    arrays: dict[str, np.ndarray]
    source: str
    chosen: list[ChosenDim] = field(default_factory=list)

    def describe(self) -> list[dict[str, object]]:
        return describe_inputs(self.arrays, self.source, self.chosen)


def prepare_inputs(specs: list[Spec], given: InputFile | None, seed: int, image: ImagePreprocess | None = None,
                   hints: Sequence[ShapeHint] = (), dim_names: dict[str, list[str]] | None = None,
                   model: str = "the model",
                   ranges: dict[str, tuple[int, int]] | None = None) -> PreparedInputs:  # fmt: skip
    """The user's --input checked against the model, or seeded random inputs with every free
    dimension given a value (`shapes.resolve`) and their size checked before they are made, integer
    inputs inside their `ranges`."""
    if given is not None:
        return PreparedInputs(load_inputs(given, specs, seed, image, model), str(given.path))
    resolved, chosen = resolve(specs, hints, dim_names)
    check_size(resolved, model=model)
    return PreparedInputs(parity.seeded_inputs(resolved, seed, ranges), f"seeded random, seed {seed}", chosen)


def at_other_sizes(prepared: PreparedInputs, dim_names: dict[str, list[str]] | None, seed: int,
                   ranges: dict[str, tuple[int, int]] | None = None) -> PreparedInputs | None:  # fmt: skip
    """The seeded inputs again with every free dimension at a second value (`shapes.other_value`: a
    batch of 3, a length half as long again), dimensions sharing a name together; None when the
    inputs have no free dimension."""
    if not prepared.chosen:
        return None
    shapes = {n: list(a.shape) for n, a in prepared.arrays.items()}
    by_key: dict[str, int] = {}
    chosen = []
    for c in prepared.chosen:
        names = (dim_names or {}).get(c.input, [])
        key = (names[c.axis] if c.axis < len(names) else "") or f"{c.input}[{c.axis}]"
        value = by_key.setdefault(key, other_value(c, len(shapes[c.input])))
        shapes[c.input][c.axis] = value
        chosen.append(ChosenDim(c.input, c.axis, value, f"second size of the free dimension (first {c.value})"))
    specs = [(n, shapes[n], a.dtype.name) for n, a in prepared.arrays.items()]
    check_size(specs)
    return PreparedInputs(parity.seeded_inputs(specs, seed, ranges), f"seeded random, seed {seed}", chosen)


def describe_inputs(inputs: dict[str, np.ndarray], source: str,
                    chosen: Sequence[ChosenDim] = ()) -> list[dict[str, object]]:  # fmt: skip
    return [
        {"name": n, "shape": list(a.shape), "dtype": a.dtype.name, "source": source,
         "mean": float(a.mean()) if a.size else 0.0, "std": float(a.std()) if a.size else 0.0,
         "chosen": [{"axis": c.axis, "value": c.value, "reason": c.reason} for c in chosen if c.input == n]}
        for n, a in inputs.items()
    ]  # fmt: skip

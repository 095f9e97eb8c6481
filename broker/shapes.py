"""Input shapes for inference and verification.

- `--inputShape` dimensions are positive integers (`parse_dims`).
- A free (dynamic) dimension gets a value, and the reason is recorded (`resolve`): from a shape the
  user gave (`--inputShape`), from the model (a dimension name it shares with a fixed dimension, or
  a name that says what it is), or a documented default:

  | dimension                                             | default |
  |-------------------------------------------------------|---------|
  | batch (the first of an input of rank 2 or more)       | 1       |
  | height, width of a 4-D float input (NCHW or NHWC)     | 224     |
  | channels of a 4-D float input                         | 3       |
  | any other (sequence length of token ids, time steps)  | 16      |

  A free spatial dimension whose partner is fixed takes the partner's value (a square image).
- An input too large to make is refused before it is allocated (`check_size`).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from .errors import BrokerError

Spec = tuple[str, list[int | None], str]
Resolved = tuple[str, list[int], str]  # every dimension known
AnySpec = tuple[str, Sequence[int | None], str]

DEFAULT_BATCH = 1
DEFAULT_IMAGE_SIDE = 224
DEFAULT_CHANNELS = 3
DEFAULT_LENGTH = 16

# Dimension names (ONNX dim_param, torch.export symbols) that say what a dimension is.
_NAMED = [
    (re.compile(r"^(n|b|bs|batch|batch_?size|num_?batch(es)?|unk__\d+_batch)$", re.I), DEFAULT_BATCH, "batch"),
    (re.compile(r"^(h|w|height|width|img_?[hw]|image_?(height|width))$", re.I), DEFAULT_IMAGE_SIDE, "image side"),
    (re.compile(r"^(c|ch|channels?)$", re.I), DEFAULT_CHANNELS, "channels"),
    (re.compile(r"(seq|sequence|length|len|time|steps|tokens?)", re.I), DEFAULT_LENGTH, "sequence length"),
]


@dataclass(frozen=True)
class ShapeHint:
    """A shape known from outside the model: `name` empty means "the input at this position"."""

    name: str
    shape: list[int | None]  # None: left free (the model's own rules give it a value)
    source: str  # "--inputShape", "the other model", ...


@dataclass(frozen=True)
class ChosenDim:
    """A value given to a free dimension for a run, and why."""

    input: str
    axis: int
    value: int
    reason: str

    def __str__(self) -> str:
        return f"{self.input}[{self.axis}] = {self.value} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FREE_BATCH = "N"  # the name a free batch dimension is given in the IR
FREE_MARKS = ("?", "-1", "none")  # a free dimension with no name
_DIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_dims(text: str, what: str) -> list[int | None]:
    """`1,3,224,224` (also `1x3x224x224`, brackets allowed) -> [1, 3, 224, 224]; every dimension a
    positive integer or free: `?`, `-1`, `None` or a name (`N,3,224,224`, `batch,seq`) give None
    (`dim_names` reads the names). Else `bad-option` (not a number) or `bad-shape` (zero or
    negative), naming it."""
    return [None if isinstance(d, str) else d for d in _read_dims(text, what)]


def dim_names(text: str) -> list[str]:
    """The names given to free dimensions in a shape `parse_dims` read ("" where none: numbers, `?`)."""
    return [d if isinstance(d, str) and d.lower() not in FREE_MARKS else "" for d in _read_dims(text, "")]


def _split(text: str) -> list[str]:
    body = text.strip().strip("[]()")
    parts = [p.strip() for p in (body.split(",") if "," in body else body.split("x"))]
    if parts and parts[-1] == "":  # a trailing comma
        parts.pop()
    return parts


def _read_dims(text: str, what: str) -> list[int | str]:
    dims: list[int | str] = []
    for i, p in enumerate(_split(text)):
        if p.lower() in FREE_MARKS or _DIM_NAME.match(p):
            dims.append(p)
            continue
        try:
            d = int(p)
        except ValueError:
            raise BrokerError(
                f"cannot read dimension {i} of {what} {text!r}: {p!r} is not an integer nor a free dimension",
                reference="bad-option",
                hint="write it as 1,3,224,224 or name:1,3,224,224 (batch included); a free dimension as ?, -1 "
                "or a name (N,3,224,224)",
            ) from None
        if d <= 0:
            raise BrokerError(
                f"dimension {i} of {what} {text!r} is {d}: dimensions must be positive integers",
                reference="bad-shape",
                hint="give every dimension as a positive size, e.g. 1,3,224,224, or -1 / ? / a name for a free one",
            )
        dims.append(d)
    if not dims:
        raise BrokerError(f"{what} {text!r} has no dimensions", reference="bad-option",
                          hint="write it as 1,3,224,224 or name:1,3,224,224")  # fmt: skip
    return dims


def _hint_for(name: str, position: int, rank: int, hints: Sequence[ShapeHint]) -> ShapeHint | None:
    named = [h for h in hints if h.name == name]
    unnamed = [h for h in hints if not h.name]
    hint = named[0] if named else (unnamed[position] if position < len(unnamed) else None)
    if hint is None:
        return None
    if len(hint.shape) == rank:
        return hint
    if len(hint.shape) == rank - 1:  # MMdnn's form without the batch (3,224,224; TF's 299,299,3)
        return ShapeHint(hint.name, [None, *hint.shape], hint.source)  # the batch left free
    return None


def _layout(shape: Sequence[int | None]) -> str:
    """nchw or nhwc for a 4-D input, from where a small fixed channel count sits (NCHW when unsure:
    the IR's layout)."""
    c1, c3 = shape[1], shape[3]
    if c3 is not None and c3 <= 4 and (c1 is None or c1 > 4):
        return "nhwc"
    return "nchw"


def _default(shape: Sequence[int | None], dtype: str, axis: int) -> tuple[int, str]:
    rank = len(shape)
    if axis == 0 and rank >= 2:
        return DEFAULT_BATCH, "default batch size"
    kind = np.dtype(dtype or "float32").kind
    if rank == 4 and kind == "f":
        spatial, channel = ((2, 3), 1) if _layout(shape) == "nchw" else ((1, 2), 3)
        if axis == channel:
            return DEFAULT_CHANNELS, "default channel count of an image-like input"
        if axis in spatial:
            other = shape[spatial[1] if axis == spatial[0] else spatial[0]]
            if other is not None:
                return other, f"the same as the fixed dimension {spatial[1] if axis == spatial[0] else spatial[0]}"
            return DEFAULT_IMAGE_SIDE, "default image size of a 4-D input"
    if kind in "iu":
        return DEFAULT_LENGTH, "default sequence length"
    return DEFAULT_LENGTH, "default size of a free dimension"


def resolve(
    specs: Sequence[AnySpec],
    hints: Sequence[ShapeHint] = (),
    dim_names: dict[str, list[str]] | None = None,
) -> tuple[list[Resolved], list[ChosenDim]]:
    """Every free dimension given a value: specs with int dimensions only, and what was chosen.

    `dim_names` maps an input to its dimensions' names in the model (ONNX dim_param), "" where it
    has none; dimensions sharing a name get the same value."""
    dim_names = dim_names or {}
    by_symbol: dict[str, tuple[int, str]] = {}
    for name, shape, _ in specs:  # a name shared with a fixed dimension fixes it
        for axis, (d, sym) in enumerate(zip(shape, dim_names.get(name, []))):
            if sym and d is not None:
                by_symbol.setdefault(sym, (d, f"named {sym!r} like the fixed {name}[{axis}]"))
    resolved: list[Resolved] = []
    chosen: list[ChosenDim] = []
    for position, (name, shape, dtype) in enumerate(specs):
        hint = _hint_for(name, position, len(shape), hints)
        names = dim_names.get(name, [])
        dims: list[int] = []
        for axis, d in enumerate(shape):
            if d is not None and d > 0:
                dims.append(d)
                continue
            sym = names[axis] if axis < len(names) else ""
            given = hint.shape[axis] if hint is not None else None
            if hint is not None and given is not None:
                value, reason = given, f"from {hint.source}"
            elif sym and sym in by_symbol:
                value, reason = by_symbol[sym]
            elif sym and any(p.search(sym) for p, _, _ in _NAMED):
                value, what = next((v, w) for p, v, w in _NAMED if p.search(sym))
                reason = f"the model names it {sym!r}: default {what}"
            else:
                value, reason = _default(shape, dtype, axis)
            if sym:
                by_symbol.setdefault(sym, (value, f"named {sym!r} like {name}[{axis}]"))
            dims.append(value)
            chosen.append(ChosenDim(name, axis, value, reason))
        resolved.append((name, dims, dtype))
    return resolved, chosen


SECOND_BATCH = 3  # free dimensions are checked at two values: the batch at 1 and 3


def other_value(chosen: ChosenDim, rank: int) -> int:
    """The second value a free dimension is checked at: a batch of 3, any other half as large again
    (a sequence of 16 at 24)."""
    if chosen.axis == 0 and rank >= 2:
        return SECOND_BATCH if chosen.value != SECOND_BATCH else 2
    return chosen.value + max(1, chosen.value // 2)


def available_memory() -> int:
    """Bytes of memory available now (Linux MemAvailable), else physical memory, else 8 GiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return 8 << 30


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def input_bytes(spec: AnySpec) -> int:
    _, shape, dtype = spec
    n = np.dtype(dtype or "float32").itemsize
    for d in shape:
        n *= int(d or 1)
    return n


def check_size(specs: Sequence[AnySpec], limit: int | None = None, model: str = "") -> None:
    """Refuse, before anything is allocated, inputs that together take more than a quarter of the
    memory available (each runs through two models, copied on the way): `bad-shape` with the size."""
    limit = available_memory() // 4 if limit is None else limit
    sizes = [(input_bytes(s), s) for s in specs]
    total = sum(n for n, _ in sizes)
    if total <= limit:
        return
    n, (name, shape, dtype) = max(sizes, key=lambda t: t[0])
    raise BrokerError(
        f"input {name!r}{' of ' + model if model else ''}, shape {list(shape)} ({dtype}), would take "
        f"{n:,} bytes ({_human(n)})"
        + (f", {total:,} bytes for all inputs" if total != n else "")
        + f": more than this run can make (limit {_human(limit)}, a quarter of the memory available)",
        reference="bad-shape",
        hint="inputs are made in memory: give a smaller --inputShape if the model takes one, or your own --input",
    )

"""Element-wise comparison of two models' outputs: |a - b| <= atol + rtol * |b|, b the reference.

No sorting, no truncation. The report gives max abs and max rel error for every output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from .errors import BrokerError

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3


@dataclass
class OutputComparison:
    name: str
    reference_name: str
    shape: list[int]
    reference_shape: list[int]
    max_abs: float
    max_rel: float
    mismatched: int
    total: int
    passed: bool
    reference_std: float = 0.0
    note: str = ""
    nonfinite: int = 0  # NaN/Inf values in the output
    reference_nonfinite: int = 0  # ... and in the reference's
    histogram: list[tuple[float, int]] = field(default_factory=list)  # (upper edge of |a-b|, count)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParityReport:
    atol: float
    rtol: float
    reference_engine: str
    candidate_engine: str
    outputs: list[OutputComparison] = field(default_factory=list)
    seed: int | None = None
    allow_nan: bool = False
    inputs: list[dict[str, Any]] = field(default_factory=list)  # name, shape, dtype, source, chosen dims
    # the same check with every free input dimension at a second value (batch 3, another length)
    other_sizes: list[ParityReport] = field(default_factory=list)
    fixed: str = ""  # why the converted model has fixed sizes where the source's are free

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs) and all(r.passed for r in self.other_sizes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "atol": self.atol,
            "rtol": self.rtol,
            "seed": self.seed,
            "allow_nan": self.allow_nan,
            "inputs": self.inputs,
            "reference_engine": self.reference_engine,
            "candidate_engine": self.candidate_engine,
            "outputs": [o.to_dict() for o in self.outputs],
            "other_sizes": [r.to_dict() for r in self.other_sizes],
            "fixed": self.fixed,
        }


def check_tolerances(atol: float, rtol: float) -> None:
    """--atol and --rtol are finite and not negative (`bad-option`)."""
    for flag, value in (("--atol", atol), ("--rtol", rtol)):
        if not np.isfinite(value) or value < 0:
            raise BrokerError(f"{flag} {value} is not a tolerance", reference="bad-option",
                              hint=f"give {flag} as a number >= 0")  # fmt: skip


def nonfinite(a: np.ndarray) -> int:
    """How many NaN or Inf values an array holds (0 for integer and boolean arrays)."""
    a = np.asarray(a)
    return int(np.count_nonzero(~np.isfinite(a))) if a.dtype.kind in "fc" else 0


def compare_arrays(
    a: np.ndarray, b: np.ndarray, atol: float, rtol: float, allow_nan: bool = False
) -> tuple[float, float, int, bool]:
    """(max abs error, max rel error, mismatched elements, passed) of candidate a vs reference b.

    A NaN or Inf on either side is a mismatch, unless `allow_nan` and the other side holds the same
    value there (NaN and NaN, +Inf and +Inf, -Inf and -Inf). The errors are over the other
    elements; an unmatched NaN/Inf makes max abs and max rel infinite."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    fin_a, fin_b = np.isfinite(a64), np.isfinite(b64)
    finite = fin_a & fin_b
    same = (np.isnan(a64) & np.isnan(b64)) | (~fin_a & ~fin_b & (a64 == b64))  # inf == inf of one sign
    odd = ~finite & ~(same if allow_nan else np.zeros_like(same))
    diff = np.where(finite, np.abs(np.where(finite, a64, 0.0) - np.where(finite, b64, 0.0)), 0.0)
    bad = (finite & (diff > atol + rtol * np.abs(np.where(finite, b64, 0.0)))) | odd
    rel = diff / np.maximum(np.abs(np.where(finite, b64, 0.0)), np.finfo(np.float32).tiny)
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    if odd.any():
        max_abs = max_rel = float("inf")
    return max_abs, max_rel, int(bad.sum()), not bool(bad.any())


def compare_outputs(
    candidate: list[tuple[str, np.ndarray]],
    reference: list[tuple[str, np.ndarray]],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    reference_engine: str = "",
    candidate_engine: str = "",
    seed: int | None = None,
    allow_nan: bool = False,
) -> ParityReport:
    """Outputs are matched by name when both sides use the same names, else by position."""
    if len(candidate) != len(reference):
        raise BrokerError(
            f"the models have different numbers of outputs: {len(reference)} "
            f"({', '.join(n for n, _ in reference)}) vs {len(candidate)} ({', '.join(n for n, _ in candidate)})",
            reference="output-mismatch",
            hint="select the same outputs on both sides (--dstNode)",
        )
    ref_names = [n for n, _ in reference]
    by_name = {n: a for n, a in reference}
    pairs = list(zip(candidate, reference))
    if set(n for n, _ in candidate) == set(ref_names) and len(set(ref_names)) == len(ref_names):
        pairs = [((n, a), (n, by_name[n])) for n, a in candidate]
    report = ParityReport(atol, rtol, reference_engine, candidate_engine, seed=seed, allow_nan=allow_nan)
    for (cname, a), (rname, b) in pairs:
        a, b = np.asarray(a), np.asarray(b)
        std = float(np.std(b.astype(np.float64))) if b.size and b.dtype.kind in "fiu" else 0.0
        if a.shape != b.shape:
            report.outputs.append(
                OutputComparison(
                    cname,
                    rname,
                    list(a.shape),
                    list(b.shape),
                    float("inf"),
                    float("inf"),
                    a.size,
                    b.size,
                    False,
                    std,
                    f"shape {list(a.shape)} differs from the reference's {list(b.shape)}",
                )
            )
            continue
        max_abs, max_rel, bad, ok = compare_arrays(a, b, atol, rtol, allow_nan)
        odd_a, odd_b = nonfinite(a), nonfinite(b)
        report.outputs.append(
            OutputComparison(
                cname, rname, list(a.shape), list(b.shape), max_abs, max_rel, bad, int(b.size), ok, std,
                _nonfinite_note(odd_a, odd_b, ok, allow_nan), odd_a, odd_b, error_histogram(a, b),
            )
        )  # fmt: skip
    return report


def _nonfinite_note(candidate: int, reference: int, passed: bool, allow_nan: bool) -> str:
    if not candidate and not reference:
        return ""
    note = f"NaN/Inf: {candidate} (reference {reference})"
    if not passed and not allow_nan and candidate == reference:
        note += "; --allow-nan accepts them at the same places"
    return note


def error_histogram(a: np.ndarray, b: np.ndarray) -> list[tuple[float, int]]:
    """Counts of |a-b| per decade, from exact (0) to >= 1: [(upper edge, count), ...]."""
    diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).ravel()
    diff = diff[~np.isnan(diff)]
    edges = [0.0] + [10.0**k for k in range(-9, 1)] + [float("inf")]
    out = [(0.0, int(np.sum(diff == 0)))]
    for lo, hi in zip(edges[:-1], edges[1:]):
        out.append((hi, int(np.sum((diff > lo) & (diff <= hi)))))
    return out


def seeded_inputs(specs: Sequence[tuple[str, Sequence[int | None], str]], seed: int = 0,
                  ranges: dict[str, tuple[int, int]] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Random inputs for (name, shape, dtype) specs; a free dimension (None) takes the value
    `shapes.resolve` gives it, and inputs too large to make are refused before allocation. An
    integer input takes values in [0, 10), or in its [low, high) of `ranges` (token ids inside the
    embedding table they index: `ir.ranges.integer_input_ranges`)."""
    from .shapes import check_size, resolve

    resolved, _ = resolve(specs)  # specs without free dimensions come back as they are
    check_size(resolved)
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, dims, dtype in resolved:
        dt = np.dtype(dtype or "float32")
        if dt.kind == "f":
            out[name] = rng.standard_normal(dims).astype(dt)
        elif dt.kind in "iu":
            low, high = (ranges or {}).get(name, (0, 10))
            out[name] = rng.integers(low, high, size=dims).astype(dt)
        elif dt.kind == "b":
            out[name] = rng.integers(0, 2, size=dims).astype(bool)
        else:
            raise BrokerError(
                f"cannot make a random input of dtype {dt} for {name!r}",
                reference="bad-input",
                hint="give the input with --input FILE.npy",
            )
    return out

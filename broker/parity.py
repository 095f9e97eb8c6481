"""Element-wise comparison of two models' outputs: |a - b| <= atol + rtol * |b|, b the reference.

No sorting, no truncation. The report gives max abs and max rel error for every output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "atol": self.atol,
            "rtol": self.rtol,
            "seed": self.seed,
            "reference_engine": self.reference_engine,
            "candidate_engine": self.candidate_engine,
            "outputs": [o.to_dict() for o in self.outputs],
        }


def compare_arrays(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> tuple[float, float, int, bool]:
    """(max abs error, max rel error, mismatched elements, passed) of candidate a vs reference b."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a64) & np.isnan(b64)
    diff = np.where(both_nan, 0.0, np.abs(a64 - b64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    bad = diff > atol + rtol * np.abs(np.nan_to_num(b64, nan=0.0))
    rel = diff / np.maximum(np.abs(b64), np.finfo(np.float32).tiny)
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(np.nanmax(rel)) if rel.size else 0.0
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
    report = ParityReport(atol, rtol, reference_engine, candidate_engine, seed=seed)
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
        max_abs, max_rel, bad, ok = compare_arrays(a, b, atol, rtol)
        report.outputs.append(
            OutputComparison(
                cname, rname, list(a.shape), list(b.shape), max_abs, max_rel, bad, int(b.size), ok, std,
                histogram=error_histogram(a, b),
            )
        )  # fmt: skip
    return report


def error_histogram(a: np.ndarray, b: np.ndarray) -> list[tuple[float, int]]:
    """Counts of |a-b| per decade, from exact (0) to >= 1: [(upper edge, count), ...]."""
    diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).ravel()
    diff = diff[~np.isnan(diff)]
    edges = [0.0] + [10.0**k for k in range(-9, 1)] + [float("inf")]
    out = [(0.0, int(np.sum(diff == 0)))]
    for lo, hi in zip(edges[:-1], edges[1:]):
        out.append((hi, int(np.sum((diff > lo) & (diff <= hi)))))
    return out


def seeded_inputs(specs: list[tuple[str, list[int | None], str]], seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for (name, shape, dtype) specs; unknown dimensions become 1."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape, dtype in specs:
        dims = [d if isinstance(d, int) and d > 0 else 1 for d in shape]
        dt = np.dtype(dtype or "float32")
        if dt.kind == "f":
            out[name] = rng.standard_normal(dims).astype(dt)
        elif dt.kind in "iu":
            out[name] = rng.integers(0, 10, size=dims).astype(dt)
        elif dt.kind == "b":
            out[name] = rng.integers(0, 2, size=dims).astype(bool)
        else:
            raise BrokerError(
                f"cannot make a random input of dtype {dt} for {name!r}",
                reference="bad-input",
                hint="give the input with --input FILE.npy",
            )
    return out

"""Time a ResNet-50-size PyTorch -> ONNX -> PyTorch conversion by phase, cold and warm; each leg is the
conversion `mmbroker convert` runs (broker/pipeline.py `convert`), then the two ends are compared.

    python bench/convert_bench.py [--repeat 2]

cold: a new session (environment check, runner start, import cost); warm: the same runners again.
Phases: env check, runner start, parse, ir passes, file transfer (IR weights to and from .npz),
emit, save, infer. Prints a table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker.envs import ensure_env  # noqa: E402
from broker.pipeline import Session, convert, convert_request  # noqa: E402

PHASES = ["env check", "runner start", "parse", "ir passes", "file transfer", "emit", "save", "infer"]


def make_model(out: Path) -> Path:
    handle = ensure_env("pytorch", console=Console(stderr=True))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run(
        [str(handle.python), str(ROOT / "bench" / "resnet50.py"), str(out)],
        check=True,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    return out


def round_trip(s: Session, src: Path, work: Path) -> dict[str, float]:
    s.timings.clear()
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    there, _ = convert_request("pytorch", [str(src)], "onnx", work / "resnet50.onnx", {})
    onnx_done = convert(s, there)  # each leg is `mmbroker convert`, its own parity check included
    back, _ = convert_request("onnx", onnx_done.written, "pytorch", work / "resnet50.pth", {})
    pth = convert(s, back).written
    assert onnx_done.inputs is not None and pth, "a leg of the round trip was not written"
    report = s.verify(("pytorch", [str(src)]), ("pytorch", pth), onnx_done.inputs.arrays)  # end to end
    timings = dict(s.timings)
    timings["total"] = time.perf_counter() - t0
    timings["max abs err"] = max(o.max_abs for o in report.outputs)
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="warm runs after the cold one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmbroker-bench-") as tmp:
        work = Path(tmp)
        src = make_model(work / "resnet50.pt2")
        runs = []
        with Session(workspace=work / "ws", keep_warm=False, ir_cache=False) as s:  # cold: nothing reused
            runs.append(("cold", round_trip(s, src, work / "cold")))
            for i in range(args.repeat):
                runs.append((f"warm {i + 1}", round_trip(s, src, work / f"warm{i}")))
    table = Table(title=f"PyTorch -> ONNX -> PyTorch, ResNet-50 ({src.name}), seconds by phase")
    table.add_column("phase")
    for name, _ in runs:
        table.add_column(name, justify="right")
    for phase in PHASES + ["total"]:
        table.add_row(phase, *(f"{r.get(phase, 0.0):.2f}" for _, r in runs))
    table.add_row("max abs err", *(f"{r['max abs err']:.2g}" for _, r in runs))
    Console().print(table)


if __name__ == "__main__":
    main()

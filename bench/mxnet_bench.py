"""Time an MXNet -> PyTorch conversion of a Gluon ResNet-50 v1 (224x224) by phase, cold and warm,
the figure issue-style comparisons use (MMdnn 0.3.1 mmconvert on this machine: 7.2 s wall, 532 MB
peak; mxnet.onnx -> onnx2torch: 6.3 s + 7.1 s).

    python bench/mxnet_bench.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
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
from broker.parity import seeded_inputs  # noqa: E402
from broker.pipeline import InputShape, Session, input_specs  # noqa: E402

PHASES = ["env check", "runner start", "parse", "ir passes", "file transfer", "emit", "save", "infer"]


def make_model(out: Path) -> tuple[list[str], list[int]]:
    handle = ensure_env("mxnet", console=Console(stderr=True))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([str(handle.python), str(ROOT / "tests" / "parity" / "mxnet_zoo.py"), str(out), "resnet50_v1"],
                   check=True, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    entry = next(e for e in json.loads((out / "mxnet_zoo.json").read_text()) if e["name"] == "resnet50_v1")
    return [str(out / "resnet50_v1-symbol.json"), str(out / "resnet50_v1-0000.params")], list(entry["shape"])


def convert(s: Session, files: list[str], shape: list[int], work: Path) -> dict[str, float]:
    s.timings.clear()
    t0 = time.perf_counter()
    ir = s.toir("mxnet", files, inputs=[InputShape("", shape)], stem=work / "ir" / "resnet50")
    pth = s.tomodel("pytorch", s.tocode("pytorch", ir, work / "code", name="resnet50"), work / "resnet50.pth")
    report = s.verify(("mxnet", files), ("pytorch", pth), seeded_inputs(input_specs(ir), seed=0))
    timings = dict(s.timings)
    timings["total"] = time.perf_counter() - t0
    timings["max abs err"] = max(o.max_abs for o in report.outputs)
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="warm runs after the cold one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mmbroker-bench-") as tmp:
        work = Path(tmp)
        files, shape = make_model(work / "model")
        runs = []
        with Session(workspace=work / "ws") as s:
            runs.append(("cold", convert(s, files, shape, work / "cold")))
            for i in range(args.repeat):
                runs.append((f"warm {i + 1}", convert(s, files, shape, work / f"warm{i}")))
    table = Table(title="MXNet -> PyTorch, Gluon resnet50_v1 224x224, seconds by phase (verification included)")
    table.add_column("phase")
    for name, _ in runs:
        table.add_column(name, justify="right")
    for phase in PHASES + ["total"]:
        table.add_row(phase, *(f"{r.get(phase, 0.0):.2f}" for _, r in runs))
    table.add_row("max abs err", *(f"{r['max abs err']:.2g}" for _, r in runs))
    Console().print(table)


if __name__ == "__main__":
    main()

"""Time an MXNet -> PyTorch conversion of a Gluon ResNet-50 v1 (224x224).

Two measurements:
- `mmbroker convert ... --no-verify` as a user runs it (a new process: runner start and framework
  imports included), wall time and peak memory: the largest single process, and the peak of the
  summed resident memory of the broker and its runners (sampled every 50 ms). Reference figures on
  the same machine: MMdnn 0.3.1 `mmconvert` 7.2 s wall, 532 MB peak (one process, no check of the
  result); the mxnet.onnx -> onnx2torch chain 6.3 s + 7.1 s.
- the same conversion in one Session by phase, cold and warm, verification included.

    python bench/mxnet_bench.py [--repeat 1]

Asserts nothing; prints tables.
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

MB = 1024 * 1024
PHASES = ["env check", "runner start", "parse", "ir passes", "file transfer", "emit", "save", "infer"]


def make_model(out: Path) -> tuple[list[str], list[int]]:
    handle = ensure_env("mxnet", console=Console(stderr=True))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([str(handle.python), str(ROOT / "tests" / "parity" / "mxnet_zoo.py"), str(out), "resnet50_v1"],
                   check=True, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    entry = next(e for e in json.loads((out / "mxnet_zoo.json").read_text()) if e["name"] == "resnet50_v1")
    return [str(out / "resnet50_v1-symbol.json"), str(out / "resnet50_v1-0000.params")], list(entry["shape"])


def tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of pid and its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def cli_run(files: list[str], shape: list[int], out: Path) -> dict[str, float]:
    """`mmbroker convert` in a new process, as the README's MXNet command; wall time and memory."""
    cmd = [sys.executable, "-c", "from broker.cli import main; main()", "convert", "-sf", "mxnet",
           "-in", files[0], "-iw", files[1], "-df", "pytorch", "-om", str(out),
           "--inputShape", ",".join(map(str, shape[1:])), "--no-verify"]  # fmt: skip
    t0 = time.perf_counter()
    log = out.parent / "convert.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    peak_sum = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_sum = max(peak_sum, tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss (KiB) of a reaped child covers the descendants it reaped (the runners): the largest
    largest = usage.ru_maxrss * 1024
    if proc.returncode != 0:
        raise SystemExit(log.read_text(errors="replace")[-2000:])
    return {"wall s": wall, "largest process MB": largest / MB, "summed peak MB": peak_sum / MB}


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
        cli = cli_run(files, shape, work / "cli" / "resnet50.pth")
        runs = []
        with Session(workspace=work / "ws") as s:
            runs.append(("cold", convert(s, files, shape, work / "cold")))
            for i in range(args.repeat):
                runs.append((f"warm {i + 1}", convert(s, files, shape, work / f"warm{i}")))
    first = Table(title="mmbroker convert -sf mxnet -df pytorch --no-verify, Gluon resnet50_v1 224x224")
    first.add_column("measure")
    first.add_column("mmbroker", justify="right")
    first.add_column("MMdnn 0.3.1 (reference)", justify="right")
    reference = {"wall s": "7.2", "largest process MB": "532", "summed peak MB": "532"}
    for key, value in cli.items():
        first.add_row(key, f"{value:.1f}" if key == "wall s" else f"{value:.0f}", reference[key])
    Console().print(first)
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

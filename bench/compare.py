"""mmbroker against MMdnn 0.3.1 and the peer chain, every figure measured side by side in one run.

    python bench/compare.py [--rounds 3] [--cases resnet50,inceptionv3,vgg19] [--markdown FILE]

Cases (the models are made here, with random weights; nothing is downloaded):
- resnet50: MXNet -> PyTorch, Gluon ResNet-50 v1 (224x224) with Module-style names (what MMdnn's
  MXNet parser reads, as the MXNet model zoo's checkpoints have them). Compared: MMdnn 0.3.1's
  `mmconvert` in its own pinned environment (bench/envs/mmdnn: CPython 3.7, MXNet 1.9.1, PyTorch
  1.12.1), `mmbroker convert` cold (`--cold`: new runners, no cached IR) and warm (the runners and
  the parsed IR of an earlier command reused), each with and without the check, and the peer chain
  (mxnet.onnx export in mmbroker's MXNet environment, then onnx2torch).
- inceptionv3: Keras -> PyTorch, Keras InceptionV3 (299x299) as a Keras 2 .h5; MMdnn with
  standalone Keras 2.3.1 on TensorFlow 1.15 (bench/envs/mmdnn-keras); the peer chain is tf2onnx
  then onnx2torch.
- vgg19: VGG-19 as the ONNX model zoo has it (575 MB), ONNX -> ONNX and ONNX -> PyTorch with the
  check, cold, against one onnxruntime load-and-run of the same file.

Each command runs as a new process; the commands of a case take turns, round after round (one
uncounted round first), so every ratio is taken between runs made at the same moment of a shared
machine: the table gives the median wall time with its range, the median of the per-round ratios
to the case's reference, and the largest peak resident memory of any one process (the broker, its
runners, or the warm runners it used, from the kernel's own accounting: ru_maxrss, VmHWM).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_envs import ensure as bench_env  # noqa: E402

from broker.envs import ensure_env  # noqa: E402

MB = 1024 * 1024
TOOLS = ROOT / "bench" / "tools"
MMBROKER = [sys.executable, "-c", "from broker.cli import run; run()"]  # what the `mmbroker` script runs
MMCONVERT = "from mmdnn.conversion._script.convert import _main; _main()"


@dataclass
class Step:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Command:
    label: str
    steps: Callable[[int], list[Step]]  # round -> the processes to run one after the other
    pool: Path | None = None  # warm runners it may use, whose peak memory counts too


@dataclass
class Case:
    name: str
    title: str
    weights_mb: float
    commands: list[Command]
    reference: str
    extra_ratios: list[tuple[str, str]] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)  # runner environments whose import is the baseline
    baseline_mb: float = 0.0


def import_baseline(frameworks: list[str], work: Path) -> float:
    """The largest peak memory (MB) of a process that only imports one of these frameworks: what
    a runner holds before it reads a model."""
    modules = {"mxnet": "mxnet", "pytorch": "torch", "tensorflow": "tensorflow", "onnx": "onnxruntime"}
    peak = 0.0
    for fw in frameworks:
        argv = [env_python(fw), "-c", f"import {modules[fw]}"]
        peak = max(peak, measure(Command(f"import {fw}", lambda rnd, argv=argv: [Step(argv)]), 0, work)[1] / MB)
    return peak


# PYTHONDONTWRITEBYTECODE (set in some CI shells) would make every command compile mmbroker's
# modules again (0.15 s in the broker alone); a user's installation has its bytecode
_STRIP = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    return {**env, "NO_COLOR": "1", **extra}


def warm_peak(pool: Path | None) -> int:
    """The largest VmHWM (peak resident memory) of the warm runners in `pool`."""
    peak = 0
    for rec in pool.glob("*/record.json") if pool is not None else ():
        try:
            pid = json.loads(rec.read_text())["pid"]
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError, KeyError):
            continue
    return peak


def measure(cmd: Command, rnd: int, work: Path) -> tuple[float, int]:
    """Wall seconds and the largest peak resident memory of one process, for one run of `cmd`."""
    wall, peak = 0.0, 0
    log = work / "logs" / f"{cmd.label.replace(' ', '_').replace('/', '_')}-{rnd}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    for step in cmd.steps(rnd):
        t0 = time.perf_counter()
        with log.open("ab") as out:
            proc = subprocess.Popen(step.argv, cwd=work, stdout=out, stderr=out, env=clean_env(**step.env))
            _, status, usage = os.wait4(proc.pid, 0)
        wall += time.perf_counter() - t0
        peak = max(peak, usage.ru_maxrss * 1024)  # the child and the descendants it waited for
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd.label} failed:\n" + log.read_text(errors="replace")[-3000:])
    return wall, max(peak, warm_peak(cmd.pool))


# -- the models -----------------------------------------------------------------------------------
def env_python(framework: str) -> str:
    return str(ensure_env(framework).python)


def make_resnet50(work: Path) -> list[str]:
    model = work / "model"
    model.mkdir(exist_ok=True)
    py = env_python("mxnet")
    subprocess.run([py, str(ROOT / "tests" / "parity" / "mxnet_zoo.py"), str(model), "resnet50_v1"], check=True,
                   env=clean_env(), stderr=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([py, str(TOOLS / "mxnet_module_style.py"), str(model / "resnet50_v1"), str(model / "resnet-50")],
                   check=True, env=clean_env())  # fmt: skip
    return [str(model / "resnet-50-symbol.json"), str(model / "resnet-50-0000.params")]


def mmbroker_commands(
    src: str, dst: str, sources: list[str], ext: str, extra: list[str], work: Path, pool: Path, warm: bool = True
) -> list[Command]:
    def convert(label: str, verify: bool, cold: bool) -> Command:
        def steps(rnd: int) -> list[Step]:
            # the same command every round, as a user converting again types it (the folder emptied)
            out = work / "out" / label.replace(" ", "_").replace(",", "") / f"model{ext}"
            shutil.rmtree(out.parent, ignore_errors=True)
            out.parent.mkdir(parents=True)
            weights = ["-iw", sources[1]] if len(sources) > 1 else []
            flags = [*extra, *([] if verify else ["--no-verify"]), *(["--cold"] if cold else [])]
            argv = [*MMBROKER, "convert", "-sf", src, "-in", sources[0], *weights, "-df", dst, "-om", str(out), *flags]
            env = {"MMBROKER_WARM_DIR": str(pool), "MMBROKER_IR_CACHE_DIR": str(work / "ircache")}
            return [Step(argv, env)]

        return Command(label, steps, None if cold else pool)

    commands = [
        convert("mmbroker --no-verify, cold", False, True),
        convert("mmbroker with the check, cold", True, True),
    ]
    if warm:
        commands += [
            convert("mmbroker --no-verify, warm", False, False),
            convert("mmbroker with the check, warm", True, False),
        ]
    return commands


def resnet50_case(work: Path, pool: Path) -> Case:
    sources = make_resnet50(work)
    mmdnn = str(bench_env("mmdnn"))
    mx, peer = env_python("mxnet"), str(bench_env("peer"))
    shape = ["--inputShape", "3,224,224"]

    def mmconvert(rnd: int) -> list[Step]:
        out = work / "mmdnn" / f"resnet50-{rnd}.pth"
        shutil.rmtree(out.parent, ignore_errors=True)
        out.parent.mkdir()
        return [Step([mmdnn, "-c", MMCONVERT, "-sf", "mxnet", "-in", sources[0], "-iw", sources[1], "-df", "pytorch",
                      "-om", str(out), *shape])]  # fmt: skip

    def chain(rnd: int) -> list[Step]:
        onnx_file, pt = work / "peer" / "resnet50.onnx", work / "peer" / "resnet50.pt"
        onnx_file.parent.mkdir(exist_ok=True)
        return [Step([mx, str(TOOLS / "mxnet_to_onnx.py"), *sources, "1,3,224,224", str(onnx_file)]),
                Step([peer, str(TOOLS / "onnx_to_torch.py"), str(onnx_file), str(pt)])]  # fmt: skip

    commands = [Command("MMdnn 0.3.1 mmconvert", mmconvert)]
    commands += mmbroker_commands("mxnet", "pytorch", sources, ".pth", shape, work, pool)
    commands.append(Command("peer chain: mxnet.onnx + onnx2torch", chain))
    weights = os.path.getsize(sources[1]) / MB
    return Case("resnet50", "MXNet -> PyTorch, ResNet-50 v1 (224x224)", weights, commands, "MMdnn 0.3.1 mmconvert",
                [("mmbroker with the check, warm", "mmbroker with the check, cold")], ["mxnet", "pytorch"])  # fmt: skip


def inception_case(work: Path, pool: Path) -> Case:
    model = work / "inception_v3.h5"
    tf = env_python("tensorflow")
    try:
        mmdnn: str | None = str(bench_env("mmdnn-keras"))
    except Exception as exc:  # noqa: BLE001  (printed: the case runs without MMdnn)
        print(f"MMdnn's Keras environment cannot be built here: {exc}", file=sys.stderr)
        mmdnn = None
    subprocess.run([mmdnn or tf, str(TOOLS / "keras_inception_v3.py"), str(model)], check=True, env=clean_env(),
                   stderr=subprocess.DEVNULL)  # fmt: skip
    peer = str(bench_env("peer"))
    commands = []
    if mmdnn:

        def mmconvert(rnd: int) -> list[Step]:
            out = work / "mmdnn" / f"inception-{rnd}.pth"
            shutil.rmtree(out.parent, ignore_errors=True)
            out.parent.mkdir()
            return [
                Step([mmdnn, "-c", MMCONVERT, "-sf", "keras", "-iw", str(model), "-df", "pytorch", "-om", str(out)])
            ]

        commands.append(Command("MMdnn 0.3.1 mmconvert", mmconvert))

    def chain(rnd: int) -> list[Step]:
        onnx_file, pt = work / "peer" / "inception.onnx", work / "peer" / "inception.pt"
        onnx_file.parent.mkdir(exist_ok=True)
        return [Step([tf, str(TOOLS / "keras_to_onnx.py"), str(model), str(onnx_file)]),
                Step([peer, str(TOOLS / "onnx_to_torch.py"), str(onnx_file), str(pt)])]  # fmt: skip

    commands += mmbroker_commands("keras", "pytorch", [str(model)], ".pth", [], work, pool)
    commands.append(Command("peer chain: tf2onnx + onnx2torch", chain))
    reference = commands[0].label
    return Case("inceptionv3", "Keras -> PyTorch, InceptionV3 (299x299)", os.path.getsize(model) / MB, commands,
                reference, [("mmbroker with the check, warm", "mmbroker with the check, cold")],
                ["tensorflow", "pytorch"])  # fmt: skip


def vgg19_case(work: Path, pool: Path) -> Case:
    model = work / "vgg19.onnx"
    subprocess.run([sys.executable, str(TOOLS / "onnx_vgg19.py"), str(model)], check=True, env=clean_env())
    ort = env_python("onnx")
    commands = [Command("onnxruntime load and run", lambda rnd: [Step([ort, str(TOOLS / "ort_run.py"), str(model)])])]
    for dst, ext in (("onnx", ".onnx"), ("pytorch", ".pth")):
        cmd = mmbroker_commands("onnx", dst, [str(model)], ext, [], work, pool, warm=False)[1]
        cmd.label = f"mmbroker -df {dst} with the check, cold"
        commands.append(cmd)
    return Case("vgg19", "ONNX -> ONNX and ONNX -> PyTorch, VGG-19 (575 MB)", os.path.getsize(model) / MB, commands,
                "onnxruntime load and run", frameworks=["onnx", "pytorch"])  # fmt: skip


CASES = {"resnet50": resnet50_case, "inceptionv3": inception_case, "vgg19": vgg19_case}


# -- running and printing ----------------------------------------------------------------------
def run_case(case: Case, rounds: int, warmup: int, work: Path) -> dict[str, list[tuple[float, int]]]:
    results: dict[str, list[tuple[float, int]]] = {c.label: [] for c in case.commands}
    for cmd in case.commands:
        if cmd.pool is not None:  # a warm command follows one that left its runners and IR behind
            measure(cmd, -1, work)
    for rnd in range(warmup + rounds):
        for cmd in case.commands:
            wall, peak = measure(cmd, rnd, work)
            print(f"  {case.name} round {rnd + 1 - warmup}: {cmd.label}: {wall:.1f} s, {peak / MB:.0f} MB",
                  file=sys.stderr, flush=True)  # fmt: skip
            if rnd >= warmup:
                results[cmd.label].append((wall, peak))
    return results


def ratio(results: dict[str, list[tuple[float, int]]], a: str, b: str) -> str:
    pairs = [x[0] / y[0] for x, y in zip(results.get(a, []), results.get(b, []))]
    if not pairs:
        return ""
    return f"{statistics.median(pairs):.2f} ({min(pairs):.2f}-{max(pairs):.2f})"


def table(case: Case, results: dict[str, list[tuple[float, int]]], rounds: int) -> str:
    lines = [f"**{case.title}**, weights {case.weights_mb:.0f} MB, framework import {case.baseline_mb:.0f} MB, "
             f"{rounds} rounds", "",
             f"| command | wall s, median (min-max) | / {case.reference} | peak MB, largest process | "
             "(peak - import) / weights |", "|---|---|---|---|---|"]  # fmt: skip
    for label, runs in results.items():
        walls = [w for w, _ in runs]
        peak = max(p for _, p in runs) / MB
        lines.append(f"| {label} | {statistics.median(walls):.1f} ({min(walls):.1f}-{max(walls):.1f}) | "
                     f"{ratio(results, label, case.reference) if label != case.reference else '1'} | {peak:.0f} | "
                     f"{(peak - case.baseline_mb) / case.weights_mb:.1f} |")  # fmt: skip
    for a, b in case.extra_ratios:
        lines.append(f"\n{a} / {b}: {ratio(results, a, b)} (median of the per-round ratios, range)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    ap.add_argument("--cases", default="resnet50,inceptionv3,vgg19")
    ap.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = ap.parse_args()
    out = []
    with tempfile.TemporaryDirectory(prefix="mmbroker-compare-", dir="/tmp") as tmp:
        work = Path(tmp)
        pool = work / "pool"
        try:
            for name in args.cases.split(","):
                print(f"{name}: making the model and the environments", file=sys.stderr, flush=True)
                case = CASES[name](work, pool)
                case.baseline_mb = import_baseline(case.frameworks, work)
                out.append(table(case, run_case(case, args.rounds, args.warmup, work), args.rounds))
                print(out[-1] + "\n", flush=True)
        finally:
            subprocess.run([*MMBROKER, "runners", "stop"], env=clean_env(MMBROKER_WARM_DIR=str(pool)),
                           capture_output=True)  # fmt: skip
    if args.markdown:
        args.markdown.write_text("\n\n".join(out) + "\n")


if __name__ == "__main__":
    main()

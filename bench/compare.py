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

Each case also runs each framework *alone* (bench/tools/*_alone.py: no mmbroker; the source model
loaded by its own framework, the converted one by PyTorch, each as lean as the framework allows,
and run on the check's batches of 1 and 3; for VGG-19 the onnxruntime reference runs batch 1
only): what the framework itself needs to do its part of the job. A framework's own baseline is
the peak of its alone command less the weights, which it holds once; a runner within "2x the
weights plus its framework's own baseline" holds at most one copy of the weights beyond what its
framework alone needs.

Each command runs as a new process; the commands of a case take turns, round after round (one
uncounted round first), so every ratio is taken between runs made at the same moment of a shared
machine: the table gives the median wall time with its range, the median of the per-round ratios
to the case's reference, and the largest peak resident memory of any one process (the broker, its
runners, or the warm runners it used, from the kernel's own accounting: ru_maxrss, VmHWM). Each
runner's peak is also kept by framework (sampled every 20 ms while the command runs), and set
against its own framework's baseline in the last column; a framework with no `alone` command is
taken above its import.
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
import threading
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
    alone: str = ""  # the framework running alone its part of the job: its peak sets that baseline


@dataclass
class Run:
    wall: float  # seconds
    peak: int  # bytes, the largest process
    runners: dict[str, int] = field(default_factory=dict)  # framework -> peak bytes of its runners


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

    def own_baselines_mb(self, results: dict[str, list[Run]]) -> dict[str, float]:
        """Each framework's own baseline: the largest peak of that framework alone loading the model
        and running the check's batches (the `alone` commands), less the weights it holds once."""
        out: dict[str, float] = {}
        for c in self.commands:
            for run in results.get(c.label, []) if c.alone else ():
                out[c.alone] = max(out.get(c.alone, 0.0), run.peak / MB - self.weights_mb)
        return out


def import_baseline(frameworks: list[str], work: Path) -> float:
    """The largest peak memory (MB) of a process that only imports one of these frameworks: what
    a runner holds before it reads a model."""
    modules = {"mxnet": "mxnet", "pytorch": "torch", "tensorflow": "tensorflow", "onnx": "onnxruntime"}
    peak = 0.0
    for fw in frameworks:
        argv = [env_python(fw), "-c", f"import {modules[fw]}"]
        peak = max(peak, measure(Command(f"import {fw}", lambda rnd, argv=argv: [Step(argv)]), 0, work).peak / MB)
    return peak


# PYTHONDONTWRITEBYTECODE (set in some CI shells) would make every command compile mmbroker's
# modules again (0.15 s in the broker alone); a user's installation has its bytecode
_STRIP = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    return {**env, "NO_COLOR": "1", **extra}


def peak_of(pid: int | str) -> int:
    """VmHWM (peak resident memory) of a live process, in bytes; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def runner_framework(pid: int) -> str:
    """The framework of a runner process (`python -m runners.<framework>`), else ''."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    for a, b in zip(argv, argv[1:]):
        if a == b"-m" and b.startswith(b"runners."):
            return b.decode().split(".")[1]
    return ""


def child_pids(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(k) for k in task.read_text().split()]
        except OSError:
            continue
    return out


class RunnerPeaks:
    """Samples the peak memory of the runners a command starts, and of the warm runners of `pool`,
    by framework. A peak is kept by the kernel, so the last sample before a runner exits holds it:
    the runners' VmHWM is read every 20 ms, the process tree searched for new runners every 0.2 s
    (runners' own threads and children are not searched), lightly enough not to slow the command."""

    def __init__(self, pid: int, pool: Path | None):
        self.pid, self.pool = pid, pool
        self.runners: dict[int, str] = {}  # pid -> framework
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _find_runners(self) -> None:
        todo = [self.pid]
        while todo:
            for child in child_pids(todo.pop()):
                if child not in self.runners:
                    framework = runner_framework(child)
                    if framework:
                        self.runners[child] = framework
                    else:
                        todo.append(child)

    def _sample(self) -> None:
        turn = 0
        while not self.done.wait(0.02):
            if turn % 10 == 0:
                self._find_runners()
            turn += 1
            for pid in self.runners:
                self.peaks[pid] = max(self.peaks.get(pid, 0), peak_of(pid))

    def stop(self) -> dict[str, int]:
        self.done.set()
        self.thread.join()
        out: dict[str, int] = {}
        for pid, peak in self.peaks.items():
            framework = self.runners[pid]
            out[framework] = max(out.get(framework, 0), peak)
        for rec in self.pool.glob("*/record.json") if self.pool is not None else ():
            try:
                record = json.loads(rec.read_text())
                framework, peak = record["framework"], peak_of(record["pid"])
            except (OSError, ValueError, KeyError):
                continue
            out[framework] = max(out.get(framework, 0), peak)
        return out


def slug(label: str) -> str:
    """A command's label as a file name."""
    return label.replace(" ", "_").replace("/", "_").replace(",", "")


def measure(cmd: Command, rnd: int, work: Path) -> Run:
    """Wall seconds, the largest peak resident memory of one process and the runners' peaks by
    framework, for one run of `cmd`."""
    run = Run(0.0, 0)
    log = work / "logs" / f"{slug(cmd.label)}-{rnd}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    for step in cmd.steps(rnd):
        t0 = time.perf_counter()
        with log.open("ab") as out:
            proc = subprocess.Popen(step.argv, cwd=work, stdout=out, stderr=out, env=clean_env(**step.env))
            sampler = RunnerPeaks(proc.pid, cmd.pool)
            _, status, usage = os.wait4(proc.pid, 0)
        run.wall += time.perf_counter() - t0
        run.peak = max(run.peak, usage.ru_maxrss * 1024)  # the child and the descendants it waited for
        for framework, peak in sampler.stop().items():
            run.runners[framework] = max(run.runners.get(framework, 0), peak)
            run.peak = max(run.peak, peak)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd.label} failed:\n" + log.read_text(errors="replace")[-3000:])
    return run


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


CHECKED_COLD = "mmbroker with the check, cold"


def output_dir(work: Path, label: str) -> Path:
    return work / "out" / slug(label)


def torch_alone(work: Path) -> Command:
    """PyTorch alone running what the cold command with the check wrote in the same round."""
    out = output_dir(work, CHECKED_COLD)
    argv = [env_python("pytorch"), str(TOOLS / "torch_alone.py"), str(out / "model.py"), str(out / "model.pth")]
    return Command("PyTorch alone: the converted model, batches 1 and 3", lambda rnd: [Step(argv)], alone="pytorch")


def mmbroker_commands(
    src: str, dst: str, sources: list[str], ext: str, extra: list[str], work: Path, pool: Path, warm: bool = True
) -> list[Command]:
    def convert(label: str, verify: bool, cold: bool) -> Command:
        def steps(rnd: int) -> list[Step]:
            # the same command every round, as a user converting again types it (the folder emptied)
            out = output_dir(work, label) / f"model{ext}"
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
        convert(CHECKED_COLD, True, True),
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
    mx_alone = [mx, str(TOOLS / "mxnet_alone.py"), *sources, shape[1]]
    commands.append(
        Command("MXNet alone: the source model, batches 1 and 3", lambda rnd: [Step(mx_alone)], alone="mxnet")
    )
    commands.append(torch_alone(work))
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
    keras_alone = [tf, str(TOOLS / "keras_alone.py"), str(model)]
    commands.append(Command("Keras alone (tf_keras): the .h5, batches 1 and 3", lambda rnd: [Step(keras_alone)],
                            alone="tensorflow"))  # fmt: skip
    commands.append(torch_alone(work))
    reference = commands[0].label
    return Case("inceptionv3", "Keras -> PyTorch, InceptionV3 (299x299)", os.path.getsize(model) / MB, commands,
                reference, [("mmbroker with the check, warm", "mmbroker with the check, cold")],
                ["tensorflow", "pytorch"])  # fmt: skip


def vgg19_case(work: Path, pool: Path) -> Case:
    model = work / "vgg19.onnx"
    subprocess.run([sys.executable, str(TOOLS / "onnx_vgg19.py"), str(model)], check=True, env=clean_env())
    ort = env_python("onnx")
    ort_run = [ort, str(TOOLS / "ort_run.py"), str(model)]
    commands = [Command("onnxruntime load and run", lambda rnd: [Step(ort_run)], alone="onnx")]
    for dst, ext in (("onnx", ".onnx"), ("pytorch", ".pth")):
        cmd = mmbroker_commands("onnx", dst, [str(model)], ext, [], work, pool, warm=False)[1]
        cmd.label = f"mmbroker -df {dst} with the check, cold"
        commands.append(cmd)
    commands.append(torch_alone(work))  # right after the PyTorch conversion, which wrote it
    return Case("vgg19", "ONNX -> ONNX and ONNX -> PyTorch, VGG-19 (575 MB)", os.path.getsize(model) / MB, commands,
                "onnxruntime load and run", frameworks=["onnx", "pytorch"])  # fmt: skip


CASES = {"resnet50": resnet50_case, "inceptionv3": inception_case, "vgg19": vgg19_case}


# -- running and printing ----------------------------------------------------------------------
def run_case(case: Case, rounds: int, warmup: int, work: Path) -> dict[str, list[Run]]:
    results: dict[str, list[Run]] = {c.label: [] for c in case.commands}
    for cmd in case.commands:
        if cmd.pool is not None:  # a warm command follows one that left its runners and IR behind
            measure(cmd, -1, work)
    for rnd in range(warmup + rounds):
        for cmd in case.commands:
            run = measure(cmd, rnd, work)
            runners = ", ".join(f"{fw} {peak / MB:.0f}" for fw, peak in sorted(run.runners.items()))
            print(f"  {case.name} round {rnd + 1 - warmup}: {cmd.label}: {run.wall:.1f} s, {run.peak / MB:.0f} MB"
                  + (f" (runners: {runners})" if runners else ""), file=sys.stderr, flush=True)  # fmt: skip
            if rnd >= warmup:
                results[cmd.label].append(run)
    return results


def ratio(results: dict[str, list[Run]], a: str, b: str) -> str:
    pairs = [x.wall / y.wall for x, y in zip(results.get(a, []), results.get(b, []))]
    if not pairs:
        return ""
    return f"{statistics.median(pairs):.2f} ({min(pairs):.2f}-{max(pairs):.2f})"


def over_own_baseline(case: Case, runs: list[Run], own: dict[str, float]) -> str:
    """The largest of the runners' (peak - their framework's own baseline) / weights, with the
    framework; a framework without an `alone` command is taken above its import."""
    worst: tuple[float, str] | None = None
    for run in runs:
        for fw, peak in run.runners.items():
            value = (peak / MB - own.get(fw, case.baseline_mb)) / case.weights_mb
            worst = max(worst or (value, fw), (value, fw))
    return "" if worst is None else f"{worst[0]:.1f} ({worst[1]})"


def table(case: Case, results: dict[str, list[Run]], rounds: int) -> str:
    own = case.own_baselines_mb(results)
    baselines = ", ".join(f"{fw} {mb:.0f} MB" for fw, mb in sorted(own.items()))
    lines = [f"**{case.title}**, weights {case.weights_mb:.0f} MB, framework import {case.baseline_mb:.0f} MB, "
             f"frameworks' own baselines {baselines}, {rounds} rounds", "",
             f"| command | wall s, median (min-max) | / {case.reference} | peak MB, largest process | "
             "(peak - import) / weights | largest runner: (peak - own baseline) / weights |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for label, runs in results.items():
        walls = [r.wall for r in runs]
        peak = max(r.peak for r in runs) / MB
        lines.append(f"| {label} | {statistics.median(walls):.1f} ({min(walls):.1f}-{max(walls):.1f}) | "
                     f"{ratio(results, label, case.reference) if label != case.reference else '1'} | {peak:.0f} | "
                     f"{(peak - case.baseline_mb) / case.weights_mb:.1f} | "
                     f"{over_own_baseline(case, runs, own)} |")  # fmt: skip
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
        for name in args.cases.split(","):
            # each case its own warm runners: a runner's peak is the largest since it started, so
            # one that served another case's models would carry that case's peak into this one
            pool = work / f"pool-{name}"
            try:
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

"""A `mmbroker batch` plan for the zoo of the README's parity table (tests/parity/zoo.py: six small
architectures in PyTorch), one plan per source format, so the zoo's rows of the table can be made
by `batch` instead of the pytest run:

    python tests/parity/zoo_plan.py build/zoo-batch            # the models (in the PyTorch environment) and plans
    mmbroker batch build/zoo-batch/plan-pytorch.yaml -o build/zoo-batch/pytorch
    mmbroker batch build/zoo-batch/plan-onnx.yaml -o build/zoo-batch/onnx
    python tests/parity/readme_table.py --batch-matrix build/zoo-batch/pytorch/matrix.json \\
        --batch-matrix build/zoo-batch/onnx/matrix.json --update

OUT/models/ holds the zoo's files (<name>.pt2 and <name>.onnx, written by zoo.py in the PyTorch
runner's environment, built first if missing; --zoo DIR takes a folder zoo.py already wrote).
OUT/plan-pytorch.yaml converts each .pt2 and OUT/plan-onnx.yaml each .onnx to every target (--targets
to choose), with convert's default check: float32 element-wise |a-b| <= 1e-4 + 1e-3*|ref| on seeded
inputs, the table's criterion. The models keep the zoo's names in both plans (the table's model
column), hence two plans: a plan's model names are unique.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"pytorch": "{name}.pt2", "onnx": "{name}.onnx"}  # as test_zoo_parity.py reads the zoo
TARGETS = ["onnx", "pytorch", "tensorflow", "mxnet", "caffe", "cntk", "coreml"]


def write_plans(zoo_dir: Path, out: Path, targets: list[str]) -> list[Path]:
    """plan-<source>.yaml in `out` for the models zoo.py wrote in `zoo_dir` (its zoo.json names them)."""
    import yaml  # PyYAML, of mmbroker's `batch` extra

    entries = json.loads((zoo_dir / "zoo.json").read_text())
    plans = []
    for source, pattern in SOURCES.items():
        models = [{"name": e["name"], "source": source,
                   "files": [os.path.relpath(zoo_dir / pattern.format(name=e["name"]), out)]}
                  for e in entries]  # fmt: skip
        plan = out / f"plan-{source}.yaml"
        plan.write_text(yaml.safe_dump({"targets": targets, "models": models}, sort_keys=False))
        plans.append(plan)
    return plans


def build_zoo(out: Path) -> Path:
    """The zoo written by zoo.py with the PyTorch runner's python (its environment built if missing)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import run_in_env

    from broker.envs import ensure_env

    run_in_env(ensure_env("pytorch"), ROOT / "tests" / "parity" / "zoo.py", out)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for the models and the plans")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated (default {','.join(TARGETS)})")
    ap.add_argument("--zoo", type=Path, help="a folder zoo.py already wrote (default: write OUT/models)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    zoo_dir = args.zoo if args.zoo else build_zoo(args.out / "models")
    for plan in write_plans(zoo_dir.resolve(), args.out.resolve(), [t for t in args.targets.split(",") if t]):
        print(f"mmbroker batch {plan} -o {plan.parent / plan.stem.removeprefix('plan-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

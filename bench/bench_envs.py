"""Environments of the tools the bench compares mmbroker with: MMdnn 0.3.1 (`mmdnn` for MXNet,
`mmdnn-keras` for Keras) and the peer chain's onnx2torch (`peer`), each from bench/envs/<name>/
(`requirements.txt` with exact pins, `python` with the interpreter range).

Built as runner environments are: the interpreter is found by the broker's finder (PATH or
pyenv's versions: MMdnn needs CPython 3.7), the key is a sha256 over the interpreter's version,
the platform and the pins, the environment goes to $MMBROKER_HOME/bench-envs/<name>-<key>, and a
marker written last says it is complete (a folder without one is removed and built again).

    python bench/bench_envs.py mmdnn      # build (or find) it and print its python
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker import paths  # noqa: E402
from broker.envs.interpreters import find_interpreter  # noqa: E402
from broker.envs.marker import MARKER, write_marker  # noqa: E402

SPECS = Path(__file__).resolve().parent / "envs"


def ensure(name: str, say=print) -> Path:  # type: ignore[no-untyped-def]
    """The python of bench environment `name`, built first when needed."""
    spec = SPECS / name
    pins = (spec / "requirements.txt").read_text()
    interpreter = find_interpreter((spec / "python").read_text().strip(), framework=f"bench {name}")
    material = {"name": name, "python": interpreter.version, "platform": interpreter.platform, "pins": pins}
    key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]
    env = paths.home() / "bench-envs" / f"{name}-{key}"
    python = env / "bin" / "python"
    if (env / MARKER).is_file():
        return python
    shutil.rmtree(env, ignore_errors=True)
    say(f"building the {name} bench environment with Python {interpreter.version} (once) in {env}")
    env.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(interpreter.path), "-m", "venv", str(env)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(spec / "requirements.txt")], check=True)
    write_marker(env, material)
    return python


if __name__ == "__main__":
    print(ensure(sys.argv[1], say=lambda text: print(text, file=sys.stderr)))

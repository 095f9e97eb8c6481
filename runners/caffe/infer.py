"""Infer with real pycaffe in a child process (`forward.py`): a Caffe CHECK failure aborts only
the child, and its glog message becomes the error the user sees."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.tensors import from_proto, to_proto

from . import netdef

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLOG_LINE = re.compile(r"^[FE]\d{4} [\d:.]+\s+\d+ (\S+)\] (.*)$")


def caffe_message(stderr):
    """The glog FATAL/ERROR lines (`file.cpp:123] Check failed: ...`) of a failed Caffe run."""
    lines = []
    for line in stderr.splitlines():
        m = GLOG_LINE.match(line.strip())
        if m:
            lines.append("%s] %s" % (m.group(1), m.group(2)))
    if not lines:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()][-3:]
    return " | ".join(lines)[-1500:] or "no message"


def run(request):
    net_path, weights_path = netdef.split_sources(list(request.model))
    netdef.read_text_net(net_path)  # syntax errors with line and column, before Caffe sees the file
    if weights_path:
        netdef.read_binary_net(weights_path)
    phase = "TRAIN" if netdef.phase_of(dict(request.options)) == netdef.caffe_pb2().TRAIN else "TEST"
    job_dir = tempfile.mkdtemp(prefix="caffe-forward-", dir=request.workspace or None)
    try:
        return _run(request, job_dir, net_path, weights_path, phase)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _run(request, job_dir, net_path, weights_path, phase):
    names = [t.name for t in request.inputs]
    job = {
        "net": os.path.abspath(net_path),
        "weights": os.path.abspath(weights_path) if weights_path else "",
        "phase": phase,
        "inputs": names if all(names) else [],
        "intermediates": bool(request.intermediates),
    }
    with open(os.path.join(job_dir, "job.json"), "w") as f:
        json.dump(job, f)
    arrays = dict(("input_%d" % i, np.asarray(from_proto(t), dtype=np.float32)) for i, t in enumerate(request.inputs))
    np.savez(os.path.join(job_dir, "inputs.npz"), **arrays)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("GLOG_minloglevel", "2")
    proc = subprocess.run(
        [sys.executable, "-m", "runners.caffe.forward", job_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=job_dir,
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "MMBROKER-BAD-WEIGHTS" in stderr:
            text = stderr.split("MMBROKER-BAD-WEIGHTS", 1)[1].strip().splitlines()[0]
            raise RunnerError(
                "weights-mismatch",
                text,
                file=weights_path,
                hint="the .caffemodel was trained for another .prototxt; give the matching pair",
            )
        if "MMBROKER-BAD-INPUT" in stderr:
            text = stderr.split("MMBROKER-BAD-INPUT", 1)[1].strip().splitlines()[0]
            raise RunnerError("bad-input", text, file=net_path, hint="give one tensor per net input")
        how = "aborted (signal %d)" % -proc.returncode if proc.returncode < 0 else "failed"
        raise RunnerError(
            "invalid-model",
            "Caffe %s: %s" % (how, caffe_message(stderr)),
            file=net_path,
            hint="Caffe refused the net or its weights; fix what its message names",
        )
    with open(os.path.join(job_dir, "names.json")) as f:
        order = json.load(f)
    ws = request.workspace or None
    resp = pb.InferResponse(engine="caffe %s (pycaffe, CPU)" % _version())
    with np.load(os.path.join(job_dir, "outputs.npz"), allow_pickle=False) as data:
        for i, (kind, name) in enumerate(order):
            target = resp.outputs if kind == "output" else resp.intermediates
            target.append(to_proto(name, data["value_%d" % i], ws))
    return resp


def _version():
    try:
        from importlib.metadata import version

        return version("brocolli-caffe")
    except Exception:
        return "unknown"

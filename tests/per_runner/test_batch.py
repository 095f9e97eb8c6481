"""`mmbroker batch` on a local Ray: six tiny models (five ONNX graphs, the repo's example PyTorch model)
x three targets (onnx, pytorch, caffe), killed with SIGKILL after some cells finished, then resumed
without running those again; the matrix in JSON, Markdown and HTML (read in headless Chromium); a Ray
worker killed in the middle of a cell is retried and the cell says so; a cell whose framework a
remote runner serves uses it, with no environment of that framework on the batch's side."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from batch_models import write_models
from browser import chromium
from processes import descendants
from remote_serve import make_certs, serve

pytestmark = pytest.mark.runner
pytest.importorskip("ray", reason="mmbroker batch needs Ray: pip install 'mmbroker[batch]'")

TARGETS = ["onnx", "pytorch", "caffe"]
CLI = [sys.executable, "-c", "from broker.cli import main; main()"]


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _batch(*args: object, timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run([*CLI, "batch", *map(str, args)], capture_output=True, text=True, env=_env(), timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _finished(out: Path) -> dict[str, bytes]:
    """cell.json of every finished cell, by model/target."""
    return {f"{p.parent.parent.name}/{p.parent.name}": p.read_bytes() for p in (out / "cells").glob("*/*/cell.json")}


def _cell_processes(pattern: str) -> list[int]:
    """Ray workers running a cell: Ray titles them `ray::<task name>`, here `ray::cell model/target`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if re.match(pattern, cmd):
                found.append(int(entry))
    return found


def _stop_group(proc: subprocess.Popen) -> None:
    """What a SIGKILLed driver leaves (Ray's own processes in its group) is ended by the test."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, env_or_skip):
    """A 6 x 3 batch killed after some cells finished, then resumed: (output folder, cells finished
    before the kill, the resumed run's --json stdout and stderr)."""
    for fw in ("onnx", "pytorch", "caffe"):
        env_or_skip(fw)
    root = tmp_path_factory.mktemp("batch")
    plan = root / "models" / "plan.yaml"
    plan.parent.mkdir()
    plan.write_text(yaml.safe_dump({"targets": TARGETS, "models": write_models(plan.parent)}))
    out = root / "out"
    proc = subprocess.Popen([*CLI, "batch", str(plan), "-o", str(out), "--cpus", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env(), start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 900
        while len(_finished(out)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the batch ended before it could be killed halfway"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        before = _finished(out)
    finally:
        _stop_group(proc)
    assert 4 <= len(before) < len(TARGETS) * 6, sorted(before)
    r = _batch(plan, "-o", out, "--json")
    return out, before, r.stdout, r.stderr


def test_resume_skips_the_cells_finished_before_the_kill(resumed):
    out, before, _, stderr = resumed
    assert f"{len(before)} finished cells skipped" in stderr
    after = _finished(out)
    assert len(after) == 18
    for key, text in before.items():  # not run again: the record is the one written before the kill
        assert after[key] == text, key
    assert not list((out / "cells").glob("*/.*")), "a half-written cell folder was left"


def test_json_lists_every_cell_with_its_status(resumed):
    _, _, stdout, _ = resumed
    cells = {(c["model"], c["target"]): c for c in json.loads(stdout)}
    assert len(cells) == 18
    assert {c["status"] for c in cells.values()} <= {"pass", "refused"}, cells
    for model in ("gemm_relu", "conv_sigmoid", "conv_pool", "mul_add_tanh", "tiny_resnet"):
        for target in TARGETS:
            c = cells[(model, target)]
            assert c["status"] == "pass", c
            assert 0 <= c["max_abs"] <= 1e-4 and c["report"] == f"cells/{model}/{target}/report.html"
    refused = cells[("matmul_floor_softmax", "caffe")]
    assert refused["status"] == "refused" and refused["op"] == "Floor", refused
    assert cells[("matmul_floor_softmax", "pytorch")]["status"] == "pass"


def test_matrix_in_three_formats_links_each_report(resumed):
    out, _, stdout, _ = resumed
    doc = json.loads((out / "matrix.json").read_text())
    assert doc["cells"] == json.loads(stdout)
    assert doc["targets"] == TARGETS and len(doc["models"]) == 6
    md = (out / "matrix.md").read_text()
    assert "| model | onnx | pytorch | caffe |" in md and "refused (op Floor)" in md
    assert md.count("](cells/") == 17  # every checked cell links its report
    for c in doc["cells"]:
        if c.get("report"):
            assert (out / c["report"]).is_file() and "<html" in (out / c["report"]).read_text()[:500].lower()
    assert (out / "cells/tiny_resnet/pytorch/model/tiny_resnet.pth").is_file()


def test_html_matrix_in_chromium(resumed, tmp_path):
    out = resumed[0]
    page = out / "matrix.html"
    assert "http://" not in page.read_text() and "https://" not in page.read_text()  # self-contained
    dom = chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    cells = re.findall(r'<td class="(\w+)" data-model="([^"]+)" data-target="([^"]+)"', dom)
    assert len(cells) == 18
    assert ("refused", "matmul_floor_softmax", "caffe") in cells
    assert sum(1 for c in cells if c[0] == "pass") == 17
    assert 'href="cells/conv_pool/caffe/report.html"' in dom and "op Floor" in dom
    assert "pass 17, refused 1" in dom


def test_worker_killed_mid_cell_is_retried(tmp_path, env_or_skip):
    env_or_skip("pytorch")
    write_models(tmp_path)
    plan = tmp_path / "plan.toml"
    plan.write_text('targets = ["pytorch"]\n[[models]]\nname = "gemm_relu"\nsource = "onnx"\n'
                    'files = ["gemm_relu.onnx"]\n')  # fmt: skip
    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, "batch", str(plan), "-o", str(out), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        workers: list[int] = []
        while not workers and proc.poll() is None and time.monotonic() < deadline:
            # mid-cell: the worker running it has started a runner for it
            workers = [p for p in _cell_processes(r"ray::cell gemm_relu/pytorch") if descendants(p)]
            time.sleep(0.1)
        assert workers, "no Ray worker ran the cell"
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        _stop_group(proc)
    assert proc.returncode == 0, stderr[-3000:]
    [cell] = json.loads(stdout)
    assert cell["status"] == "pass" and cell["retried"] and cell["attempts"] == 2, cell
    assert "2 attempts" in (out / "matrix.md").read_text()
    assert "retried: 2 attempts" in (out / "matrix.html").read_text()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_joins_a_running_cluster(tmp_path, env_or_skip):
    """`--address HOST:PORT`: a cluster started apart (`ray start --head`, its own process group, ended
    by the test) whose node declares CPython 3.6 as the README says, so the CNTK cell can run on it.
    Its GCS address, not Ray Client's ray:// (whose proxy here sometimes fails at the fork of its
    per-client server: gRPC `Check failed: next_worker->state == KICKED`)."""
    env_or_skip("pytorch")
    env_or_skip("cntk")
    write_models(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({"targets": ["pytorch", "cntk"], "models": write_models(tmp_path)[:1]}))
    gcs = _free_port()
    env = {**_env(), "RAY_AUTH_MODE": "disabled"}  # the test's own cluster on 127.0.0.1 (README: token auth)
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--num-cpus", "1", "--include-dashboard=false",
         "--port", str(gcs), "--resources", '{"python-3.6": 1000}', "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        said = []
        for line in head.stdout:
            said.append(line)
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail("ray start --head ended without starting: " + "".join(said[-20:]))
        r = subprocess.run([*CLI, "batch", str(plan), "-o", str(tmp_path / "out"), "--address",
                            f"127.0.0.1:{gcs}", "--json"], capture_output=True, text=True, env=env,
                           timeout=600)  # fmt: skip
    finally:
        _stop_group(head)
    assert r.returncode == 0, r.stderr[-3000:]
    cells = {c["target"]: c for c in json.loads(r.stdout)}
    assert cells["pytorch"]["status"] == cells["cntk"]["status"] == "pass", cells
    assert (tmp_path / "out" / "cells" / "gemm_relu" / "pytorch" / "model" / "gemm_relu.pth").is_file()
    assert (tmp_path / "out" / "cells" / "gemm_relu" / "cntk" / "model" / "gemm_relu.model").is_file()


def test_cells_of_a_remotely_served_target_use_it(tmp_path, env_or_skip):
    """The plan names a remote ONNX runner (mutual TLS, certificates by trustme, files relative to the
    plan); the batch runs with an empty MMBROKER_HOME, so no local ONNX environment can serve the cell."""
    env_or_skip("onnx")  # for the server
    certs = make_certs(tmp_path / "certs")
    served = serve(certs, tmp_path / "serve.log")
    try:
        plan = tmp_path / "plan" / "plan.yaml"
        plan.parent.mkdir()
        runner = {"address": f"grpcs://127.0.0.1:{served.port}", "tls_ca": "../certs/ca.pem",
                  "tls_cert": "../certs/client.pem", "tls_key": "../certs/client.key"}  # fmt: skip
        models = write_models(plan.parent)[:1]  # gemm_relu, an ONNX graph
        plan.write_text(yaml.safe_dump({"targets": ["onnx"], "models": models, "runners": {"onnx": runner}}))
        home = tmp_path / "home"
        home.mkdir()
        r = subprocess.run([*CLI, "batch", str(plan), "-o", str(tmp_path / "out"), "--json"], capture_output=True,
                           text=True, env={**_env(), "MMBROKER_HOME": str(home)}, timeout=600)  # fmt: skip
        assert served.workspaces() == []  # each request's workspace ended
    finally:
        served.stop()
    assert r.returncode == 0, r.stderr[-3000:]
    [cell] = json.loads(r.stdout)
    assert cell["status"] == "pass" and cell["max_abs"] <= 1e-5, cell
    record = json.loads((tmp_path / "out" / "cells" / "gemm_relu" / "onnx" / "cell.json").read_text())
    assert any(f"remote onnx runner at 127.0.0.1:{served.port}" in e for e in record["engines"]), record
    assert (tmp_path / "out" / "cells" / "gemm_relu" / "onnx" / "model" / "gemm_relu.onnx").is_file()
    assert not (home / "envs").exists() or not any((home / "envs").iterdir())  # nothing built here

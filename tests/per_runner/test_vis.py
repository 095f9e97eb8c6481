"""`mmbroker vis`: the self-contained page of the IR rendered in headless Chromium (screenshot and
DOM), coloured by a real layer-wise report; the pinned Netron served offline on 127.0.0.1, its update
prompt measured and kept away, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
import pytest
from browser import chromium
from helpers import run_cli
from onnx import TensorProto as T
from onnx import helper as h

pytestmark = pytest.mark.runner


def three_convs(path, scale_conv2=1.0):
    """conv-relu x3 then a global pool; conv2's weights scaled by `scale_conv2`."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    for i, (x, ci, co) in enumerate([("x", 3, 8), ("r1", 8, 8), ("r2", 8, 8)], 1):
        w = rng.normal(0, 0.3, (co, ci, 3, 3)).astype(np.float32) * (scale_conv2 if i == 2 else 1.0)
        inits.append(onnx.numpy_helper.from_array(w, f"conv{i}_w"))
        nodes.append(h.make_node("Conv", [x, f"conv{i}_w"], [f"c{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]))
        nodes.append(h.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
    nodes.append(h.make_node("GlobalAveragePool", ["r3"], ["out"], name="gap"))
    g = h.make_graph(
        nodes,
        "net",
        [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16])],
        [h.make_tensor_value_info("out", T.FLOAT, None)],
        inits,
    )
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), str(path))
    return path


def test_html_page_shows_the_graph_and_the_divergence(tmp_path):
    ref, bad = three_convs(tmp_path / "ref.onnx"), three_convs(tmp_path / "bad.onnx", 1.05)
    r = run_cli("compare", ref, bad, "--layers", "--json")
    assert r.exit_code == 1, r.stderr  # the candidate diverges
    (tmp_path / "R.json").write_text(r.stdout)
    assert json.loads(r.stdout)["layers"]["first_divergent"]["node"] == "conv2"
    page = tmp_path / "page.html"
    r = run_cli("vis", ref, "--html", page, "--layers-report", tmp_path / "R.json")
    assert r.exit_code == 0, r.stderr
    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text  # self-contained

    dom = chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    nodes = {m for m in __import__("re").findall(r'data-name="([^"]+)" data-op="([^"]+)"', dom)}
    assert {("conv1", "Conv"), ("relu2", "Relu"), ("gap", "GlobalAveragePool"), ("x", "Input")} <= nodes
    first = __import__("re").findall(r'class="node first-divergent[^"]*"[^>]*data-name="([^"]+)"', dom)
    assert first == ["conv2"]
    assert "216 params" in dom and "1x8x16x16" in dom  # conv1: 8*3*3*3 weights, its output shape
    assert "first divergent: conv2 (Conv)" in dom and "<td>pads</td>" in dom  # the details panel shows conv2

    shot = tmp_path / "page.png"
    chromium(page.as_uri(), tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,900")
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    green = np.sum(abs(pixels - [0xCD, 0xEB, 0xC5]).sum(1) < 10)  # within tolerance: conv1, relu1
    red = np.sum((pixels[:, 0] > 200) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80))  # diverged, and the mark
    assert green > 2000 and red > 2000, (green, red)


def start_vis(model):
    proc = subprocess.Popen(
        [sys.executable, "-c", "from broker.cli import main; main()", "vis", str(model), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
    return proc, url


def test_netron_serves_offline_and_stays_usable_after_its_update_date(tmp_path, env_for):
    model = three_convs(tmp_path / "ref.onnx")
    proc, url = start_vis(model)
    try:
        # 200 days on: a release's page asks for an update from day 180; the served copy opens the model
        dom = chromium(url, tmp_path / "p1", "--dump-dom", faketime="+200d")
        assert "<text>Conv</text>" in dom and "<text>GlobalAveragePool</text>" in dom
        assert "Please update" not in dom and "This app uses cookies" not in dom
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        proc.wait(timeout=20)
    assert proc.returncode == 128 + signal.SIGINT, proc.stderr.read()
    left = subprocess.run(["pgrep", "-f", f"runners.netron.serve {tmp_path}"], capture_output=True, text=True)
    assert not left.stdout.strip(), "Netron still running after Ctrl-C"

    # the measurement: Netron's own server, same pinned package, same clock
    handle = env_for("netron")
    own = subprocess.Popen(
        [
            str(handle.python),
            "-c",
            "import sys, netron; sys.argv = ['netron', sys.argv[1], '-p', '0', '--host', '127.0.0.1']; netron.main()",
            str(model),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **handle.env_vars},
    )
    try:
        line = own.stderr.readline()
        own_url = line.split(" at ")[-1].strip()
        assert own_url.startswith("http://127.0.0.1:"), line
        assert "Please update to the newest version." in chromium(
            own_url, tmp_path / "p2", "--dump-dom", faketime="+200d"
        )
        assert "This app uses cookies" in chromium(own_url, tmp_path / "p3", "--dump-dom")  # offline, today
    finally:
        own.terminate()
        own.wait(timeout=10)
    time.sleep(0)

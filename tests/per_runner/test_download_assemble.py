"""A Keras catalogue entry end to end, from a 127.0.0.1 server: the weights-only file keras.applications
publishes is downloaded, the model assembled around it in the tensorflow environment (MMdnn's
`imagenet_<name>.h5`), and converted with an image checked under the catalogue's
preprocessing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from helpers import run_cli, run_in_env

from broker import catalogue

pytestmark = pytest.mark.runner

WEIGHTS = """import sys
import tf_keras
model = tf_keras.applications.MobileNetV2(weights=None)  # seeded by Keras's initialisers
model.save_weights(sys.argv[1])  # the HDF5 weights layout keras.applications publishes
"""

ENTRY = """[keras.mobilenet_v2]
description = "test"
home = "http://127.0.0.1/"
licence = "Apache-2.0"
input = [1, 224, 224, 3]
preprocessing = {{ order = "rgb", scale = 0.00784313725490196, mean = [1.0], std = [1.0], layout = "nhwc" }}
files = [{{ name = "mobilenet_v2.h5", url = "{url}/mobilenet_v2.h5", digest = "md5:{md5}" }}]
assemble = {{ runner = "tensorflow", application = "MobileNetV2", output = "imagenet_mobilenet_v2.h5" }}
"""


def test_keras_entry_is_assembled_read_and_converted(file_server, env_for, tmp_path, monkeypatch):
    root, url = file_server
    script = tmp_path / "weights.py"
    script.write_text(WEIGHTS)
    run_in_env(env_for("tensorflow"), script, root / "mobilenet_v2.h5")
    md5 = hashlib.md5((root / "mobilenet_v2.h5").read_bytes()).hexdigest()
    toml = tmp_path / "models.toml"
    toml.write_text(ENTRY.format(url=url, md5=md5))
    original = catalogue.load
    monkeypatch.setattr(catalogue, "load", lambda path=toml: original(path))
    monkeypatch.setenv("MMBROKER_HOME", str(tmp_path / "home"))  # the download index of this test only
    out = tmp_path / "models"
    r = run_cli("download", "-f", "keras", "-n", "mobilenet_v2", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "keras model mobilenet_v2 is saved in" in r.stdout and "mobilenet_v2.h5: downloaded" in r.stderr
    h5 = out / "imagenet_mobilenet_v2.h5"
    assert h5.is_file() and not (out / "mobilenet_v2.h5").exists()  # the assembled model, not the weights

    from PIL import Image

    Image.fromarray(np.full((240, 260, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    r = run_cli("convert", "-sf", "keras", "-in", h5, "-df", "onnx", "-om", tmp_path / "m.onnx",
                "--input", tmp_path / "grey.png", "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "image preprocessing of the catalogue's keras/mobilenet_v2" in r.stderr
    [given] = json.loads(r.stdout)["parity"]["inputs"]
    assert given["shape"] == [1, 224, 224, 3]
    assert given["mean"] == pytest.approx(128 / 127.5 - 1, abs=1e-4)  # Keras's "tf" mode, not x/255

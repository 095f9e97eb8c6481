"""The corpus of models this project did not write, made from what package registries ship:

- the nine ONNX model-zoo classics the `onnx` wheel carries (Caffe2 exports, opset 9), with seeded
  weights (onnx_classics.py);
- a hand-made graph of what exporters leave behind (exporter_features.py);
- a Keras CNN exported by tf2onnx, and Gluon networks exported by MXNet's mx.onnx (made in those
  runners' environments: tf2onnx_export.py, mxnet_onnx_export.py);
- trained models shipped inside a registry package: PaddleOCR's text-direction classifier and text
  detector (paddle2onnx exports) from the `rapidocr-onnxruntime` wheel (a test dependency).

`build(name, out_dir, ...)` writes them under `out_dir`, which callers cache by `key()`, with
`<name>.input.npz` beside a model whose seeded random input would prove nothing (a text detector
sees no text in noise).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# name -> (kind, what it is)
CORPUS = {
    "bvlc_alexnet": ("classic", "AlexNet (BVLC), Caffe2 export"),
    "squeezenet": ("classic", "SqueezeNet 1.0, Caffe2 export"),
    "inception_v1": ("classic", "GoogLeNet, Caffe2 export"),
    "inception_v2": ("classic", "Inception v2 (BN-Inception), Caffe2 export"),
    "resnet50": ("classic", "ResNet-50, Caffe2 export"),
    "shufflenet": ("classic", "ShuffleNet, Caffe2 export"),
    "densenet121": ("classic", "DenseNet-121, Caffe2 export"),
    "vgg19": ("classic", "VGG-19, Caffe2 export"),
    "zfnet512": ("classic", "ZFNet-512, Caffe2 export"),
    "exporter_features": ("features", "Dropout mask, Constant-fed Reshape, Sum of 3, DepthToSpace, ScatterND"),
    "tf2onnx_cnn": ("tf2onnx", "Keras CNN exported by tf2onnx"),
    "mxnet_resnet18_v1": ("mxnet", "Gluon ResNet-18 v1 exported by mx.onnx"),
    "mxnet_mobilenetv2_0.25": ("mxnet", "Gluon MobileNetV2 0.25 exported by mx.onnx"),
    "mxnet_squeezenet1.1": ("mxnet", "Gluon SqueezeNet 1.1 exported by mx.onnx"),
    "ppocr_cls": ("registry", "PaddleOCR text direction classifier, trained (rapidocr-onnxruntime 1.4.4)"),
    "ppocr_det": ("registry", "PaddleOCR v4 text detector, trained (rapidocr-onnxruntime 1.4.4)"),
}
REGISTRY_FILES = {
    "ppocr_cls": ("rapidocr_onnxruntime", "models/ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    "ppocr_det": ("rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx"),
}
# input shapes for models whose inputs are dynamic
INPUT_SHAPES = {"ppocr_cls": "1,3,48,192", "ppocr_det": "1,3,96,96"}


def key() -> str:
    """Changes when a builder or the onnx package (which ships the classics) changes."""
    h = hashlib.sha256(onnx.__version__.encode())
    for f in sorted(HERE.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def registry_file(name: str) -> Path | None:
    package, rel = REGISTRY_FILES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    return path if path.exists() else None


def build(name: str, out_dir: Path, run_in_env, env_for) -> None:
    """Write corpus model `name` (and the others its builder makes in the same run) into out_dir
    (`run_in_env(handle, script, *args)` runs a builder in a runner's environment, `env_for(fw)`
    gives that environment)."""
    from .calibrate import scale_logits, text_lines_image

    out_dir.mkdir(parents=True, exist_ok=True)
    kind = CORPUS[name][0]
    if kind == "classic":
        from . import onnx_classics

        onnx.save(scale_logits(onnx_classics.build(name)), str(out_dir / f"{name}.onnx"))
    elif kind == "features":
        from . import exporter_features

        onnx.save(exporter_features.build(), str(out_dir / "exporter_features.onnx"))
    elif kind == "tf2onnx":
        run_in_env(env_for("tensorflow"), HERE / "tf2onnx_export.py", out_dir / "tf2onnx_cnn.onnx")
    elif kind == "mxnet":
        run_in_env(env_for("mxnet"), HERE / "mxnet_onnx_export.py", out_dir)
        for other in (n for n, (k, _) in CORPUS.items() if k == "mxnet"):
            path = str(out_dir / f"{other}.onnx")
            onnx.save(scale_logits(onnx.load(path)), path)
    elif kind == "registry":
        src = registry_file(name)
        if src is not None:
            shutil.copyfile(src, out_dir / f"{name}.onnx")
        if name == "ppocr_det":
            shape = [int(d) for d in INPUT_SHAPES["ppocr_det"].split(",")]
            np.savez(out_dir / "ppocr_det.input.npz", x=text_lines_image(shape))

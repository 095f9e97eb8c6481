"""Framework names as users type them (MMdnn's included) -> runner names."""

from __future__ import annotations

from . import paths
from .errors import BrokerError

ALIASES = {
    "tf": "tensorflow",
    "keras": "tensorflow",
    "tensorflow": "tensorflow",
    "torch": "pytorch",
    "pytorch": "pytorch",
    "mx": "mxnet",
    "mxnet": "mxnet",
    "caffe": "caffe",
    "cntk": "cntk",
    "coreml": "coreml",
    "onnx": "onnx",
    "darknet": "darknet",
    "torch7": "darknet",  # Torch7 .t7 is read by the darknet runner (both through OpenCV's importers)
    "t7": "darknet",
}
# frameworks whose models can be folders: a TensorFlow SavedModel, a CoreML .mlpackage
READS_FOLDERS = {"tensorflow", "coreml"}


def runner_name(name: str) -> str:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    known = paths.known_frameworks()
    if key not in known:
        raise BrokerError(
            f"unknown or unavailable framework {name!r}",
            reference="bad-option",
            hint=f"frameworks with a runner in this installation: {', '.join(known)}",
        )
    return key


_EXTENSIONS = [
    (".onnx", "onnx"),
    (".pt2", "pytorch"),
    (".pth", "pytorch"),
    (".pt", "pytorch"),
    (".keras", "tensorflow"),
    (".h5", "tensorflow"),
    (".tflite", "tensorflow"),
    (".meta", "tensorflow"),
    ("-symbol.json", "mxnet"),
    (".params", "mxnet"),
    (".prototxt", "caffe"),
    (".caffemodel", "caffe"),
    (".dnn", "cntk"),
    (".model", "cntk"),
    (".mlmodel", "coreml"),
    (".mlpackage", "coreml"),
    (".cfg", "darknet"),
    (".weights", "darknet"),
    (".t7", "darknet"),
]


def guess_framework(path: str) -> str | None:
    for ext, fw in _EXTENSIONS:
        if path.endswith(ext):
            return fw
    return None


def parse_model_ref(text: str) -> tuple[str, list[str]]:
    """`[framework:]file[,file...]` -> (runner name, files)."""
    fw, sep, rest = text.partition(":")
    if sep and fw.lower() in ALIASES and not fw.startswith("/"):
        files = [f for f in rest.split(",") if f]
        return runner_name(fw), files
    files = [f for f in text.split(",") if f]
    guessed = guess_framework(files[0]) if files else None
    if guessed is None:
        raise BrokerError(
            f"cannot tell which framework reads {text!r}",
            reference="bad-option",
            hint="prefix it with the framework, e.g. pytorch:model.pth,model.py",
        )
    return runner_name(guessed), files

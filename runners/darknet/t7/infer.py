"""Run a Torch7 .t7 network with OpenCV's importer (`cv2.dnn.readNetFromTorch`), the reference a
Torch7 conversion is checked against. OpenCV names its layers `l<k>_<type>` and the parser names the
IR's values the same way (t7/parse.py), so intermediate values are keyed by IR value name."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.tensors import from_proto, to_proto

from .parse import t7_file


def _message(exc):
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1][:400] if lines else type(exc).__name__


def run(request):
    import cv2

    path = t7_file(list(request.model))
    if len(request.inputs) != 1:
        raise RunnerError(
            "bad-input",
            "a Torch7 network takes one input here, %d given" % len(request.inputs),
            file=path,
            hint="give one NCHW tensor",
        )
    x = np.ascontiguousarray(from_proto(request.inputs[0]), dtype=np.float32)
    try:
        net = cv2.dnn.readNetFromTorch(path)
    except cv2.error as exc:
        raise RunnerError(
            "runtime-failed",
            "OpenCV's Torch7 importer refuses the file: %s" % _message(exc),
            file=path,
            hint="convert with --no-verify to skip the check",
        )
    names = list(net.getLayerNames())
    wanted = [o for o in dict(request.options).get("outputs", "").split(",") if o] or [names[-1]]
    missing = [o for o in wanted if o not in names]
    if missing:
        raise RunnerError(
            "unknown-node",
            "no OpenCV layer named %s" % ", ".join(missing),
            file=path,
            hint="layers: %s" % ", ".join(names[:40]),
        )
    extra = [n for n in names if n not in wanted] if request.intermediates else []
    net.setInput(x)
    try:
        values = net.forward(wanted + extra)
    except cv2.error as exc:
        raise RunnerError(
            "runtime-failed",
            "OpenCV failed to run the network: %s" % _message(exc),
            file=path,
            hint="check the input shape (--inputShape)",
        )
    ws = request.workspace or None
    resp = pb.InferResponse(engine="OpenCV %s readNetFromTorch (CPU)" % cv2.__version__)
    for name, value in zip(wanted, values[: len(wanted)]):
        resp.outputs.append(to_proto(name, np.asarray(value), ws))
    for name, value in zip(extra, values[len(wanted) :]):
        resp.intermediates.append(to_proto(name, np.asarray(value), ws))
    return resp

"""What the DarkNet and Torch7 Infer share: the one input, OpenCV's messages, running the net for
named layers and answering with the values under their IR names."""

import numpy as np

from runners.common.errors import RunnerError
from runners.common.rpc import pb
from runners.common.tensors import from_proto, to_proto


def message(exc):
    """The last line of an OpenCV error (its assertion or refusal), without the C++ trace."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1][:400] if lines else type(exc).__name__


def single_input(request, path):
    if len(request.inputs) != 1:
        raise RunnerError(
            "bad-input",
            "the network takes one input, %d given" % len(request.inputs),
            file=path,
            hint="give one NCHW tensor",
        )
    x = np.ascontiguousarray(from_proto(request.inputs[0]), dtype=np.float32)
    if x.ndim != 4:
        raise RunnerError(
            "bad-input",
            "the input has shape %s; the network takes N,C,H,W" % list(x.shape),
            file=path,
            hint="give one NCHW tensor",
        )
    return x


def load(read, path, what):
    """`read()` (an OpenCV importer call) with OpenCV's refusal as a RunnerError."""
    import cv2

    try:
        return read()
    except cv2.error as exc:
        raise RunnerError(
            "invalid-model",
            "OpenCV's %s importer refuses the net: %s" % (what, message(exc)),
            file=path,
            hint="OpenCV %s runs the check; convert with --no-verify to skip it" % cv2.__version__,
        )


def run(net, x, to_ir, default_outputs, request, path, engine):
    """Run `net` on x for the outputs the request names (--dstNode, as IR value names) or
    `default_outputs`, and every other layer of `to_ir` ({OpenCV layer: IR value}) when the
    request asks for intermediates."""
    by_ir = dict((v, k) for k, v in to_ir.items())
    wanted = [o for o in dict(request.options).get("outputs", "").split(",") if o] or default_outputs
    missing = [o for o in wanted if o not in by_ir]
    if missing:
        raise RunnerError(
            "unknown-node",
            "no OpenCV layer computes %s" % ", ".join(missing),
            file=path,
            hint="values OpenCV reports: %s" % ", ".join(sorted(by_ir)[:40]),
        )
    names = list(net.getLayerNames())
    extra = [(to_ir[n], n) for n in names if n in to_ir and to_ir[n] not in wanted] if request.intermediates else []
    return _forward(net, x, [(o, by_ir[o]) for o in wanted], extra, request, path, engine)


def _forward(net, x, outputs, intermediates, request, path, engine):
    """Run `net` on x; outputs and intermediates are [(IR name, OpenCV layer name)]."""
    import cv2

    net.setInput(x)
    try:
        values = net.forward([cv for _, cv in outputs + intermediates])
    except cv2.error as exc:
        raise RunnerError(
            "infer-failed",
            "OpenCV failed to run the net: %s" % message(exc),
            file=path,
            hint="check the input shape against the model's",
        )
    ws = request.workspace or None
    resp = pb.InferResponse(engine="OpenCV %s %s (CPU)" % (cv2.__version__, engine))
    for (name, _), value in zip(outputs, values[: len(outputs)]):
        resp.outputs.append(to_proto(name, np.asarray(value), ws))
    for (name, _), value in zip(intermediates, values[len(outputs) :]):
        resp.intermediates.append(to_proto(name, np.asarray(value), ws))
    return resp

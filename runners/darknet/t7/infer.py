"""Run a Torch7 .t7 network with OpenCV's importer (`cv2.dnn.readNetFromTorch`), the reference a
Torch7 conversion is checked against. OpenCV names its layers `l<k>_<type>` and the parser names the
IR's values the same way (t7/parse.py), so intermediate values are keyed by IR value name."""

from runners.common.errors import RunnerError

from .. import opencv_run
from .parse import t7_file


def run(request):
    import cv2

    path = t7_file(list(request.model))
    x = opencv_run.single_input(request, path)
    net = opencv_run.load(lambda: cv2.dnn.readNetFromTorch(path), path, "Torch7")
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
    extra = [(n, n) for n in names if n not in wanted] if request.intermediates else []
    return opencv_run.forward(net, x, [(o, o) for o in wanted], extra, request, path, "readNetFromTorch")

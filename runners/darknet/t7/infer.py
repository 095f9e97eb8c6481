"""Run a Torch7 .t7 network with OpenCV's importer (`cv2.dnn.readNetFromTorch`), the reference a
Torch7 conversion is checked against. OpenCV names its layers `l<k>_<type>` and the parser names the
IR's values the same way (t7/parse.py), so intermediate values are keyed by IR value name."""

from .. import opencv_run
from .parse import t7_file


def run(request):
    import cv2

    path = t7_file(list(request.model))
    x = opencv_run.single_input(request, path)
    net = opencv_run.load(lambda: cv2.dnn.readNetFromTorch(path), path, "Torch7")
    names = list(net.getLayerNames())
    return opencv_run.run(net, x, dict((n, n) for n in names), [names[-1]], request, path, "readNetFromTorch")

"""The peer chain's second half: onnx2torch turns an ONNX file into a torch.nn.Module, saved whole.

    python onnx_to_torch.py IN.onnx OUT.pt

onnx2torch imports torchvision for its NonMaxSuppression and RoiAlign converters only; where torchvision's
compiled ops do not load with this torch build (PyPI's torchvision against a CPU build of torch),
a stand-in module without them is used, and said so: the models compared here use neither.
"""

import sys
import types

import torch

try:
    import torchvision  # noqa: F401
except (ImportError, RuntimeError) as exc:
    sys.stderr.write("torchvision does not load (%s); onnx2torch runs without its NMS and RoiAlign converters\n" % exc)
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    stand_in = types.ModuleType("torchvision")
    stand_in.ops = types.ModuleType("torchvision.ops")
    stand_in.ops.roi_align = stand_in.ops.nms = None
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = stand_in, stand_in.ops

from onnx2torch import convert  # noqa: E402

torch.save(convert(sys.argv[1]), sys.argv[2])

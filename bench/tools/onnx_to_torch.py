"""The peer chain's second half: onnx2torch turns an ONNX file into a torch.nn.Module, saved whole.

python onnx_to_torch.py IN.onnx OUT.pt
"""

import sys

import torch
from onnx2torch import convert

torch.save(convert(sys.argv[1]), sys.argv[2])

"""Make examples/tiny_resnet.pt2: the ResNet-style model of the parity zoo (seeded random weights and
BatchNorm statistics), saved with torch.export. Run it with the PyTorch environment's interpreter:

    $(mmbroker env path pytorch)/bin/python examples/make_tiny_resnet.py
"""

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))

from zoo import build  # noqa: E402


def main():
    model, shape = build("resnet", seed=0)
    example = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    program = torch.export.export(model, (example,))
    out = os.path.join(HERE, "tiny_resnet.pt2")
    torch.export.save(program, out)
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()

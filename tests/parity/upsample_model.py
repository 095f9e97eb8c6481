"""A small PyTorch decoder: transposed convolutions (stride 2 with padding and output_padding,
grouped, and one whose output_padding is larger than its padding) and nn.Upsample (nearest, and
bilinear with align_corners False and True), on a 1x3x16x16 input.

Run inside the PyTorch runner's environment (the test process has no torch):
    <pytorch env python> tests/parity/upsample_model.py OUT_DIR
writes OUT_DIR/upsample.pt2 (torch.export).
"""

import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

SHAPE = [1, 3, 16, 16]


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.deconv = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, groups=2)
        self.spread = nn.ConvTranspose2d(8, 4, 1, stride=2, output_padding=1)
        self.nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.corners = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)

    def forward(self, x):
        y = F.relu(self.conv(x))
        parts = [self.deconv(y), self.grouped(y), self.spread(y), self.nearest(y), self.bilinear(y), self.corners(y)]
        return torch.cat(parts, 1)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = Decoder().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.bias.normal_(0, 0.1)
    x = torch.randn(*SHAPE, generator=torch.Generator().manual_seed(1))
    torch.export.save(torch.export.export(model, (x,)), os.path.join(out_dir, "upsample.pt2"))


if __name__ == "__main__":
    main(sys.argv[1])

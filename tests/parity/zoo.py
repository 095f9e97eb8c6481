"""Six small real architectures in PyTorch, with seeded random weights and BatchNorm statistics.

Run inside the PyTorch runner's environment (the test process has no torch):
    <pytorch env python> tests/parity/zoo.py OUT_DIR [NAME ...]
writes OUT_DIR/<name>.pt2 (torch.export), <name>.onnx (torch.onnx at the IR opset),
<name>.pth (state_dict) with <name>_class.py, and OUT_DIR/zoo.json (names, input shapes).
"""

import inspect
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    """ResNet-style: stem conv + BN, max-pool, residual blocks with projection, global pool, fc."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class TinyMobileNetV2(nn.Module):
    """MobileNetV2-style: depthwise convs, ReLU6, inverted residuals, dropout + linear head."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU6(),
            InvertedResidual(16, 16, 1, 2),
            InvertedResidual(16, 24, 2, 3),
            InvertedResidual(24, 24, 1, 3),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(24, classes))

    def forward(self, x):
        x = self.features(x)
        x = x.mean([2, 3])
        return self.classifier(x)


class TinyVGG(nn.Module):
    """VGG-style: conv/ReLU stacks, max-pool, flatten, dropout and linear layers."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(32 * 8 * 8, 64),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(64, classes),
        )

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class TinySqueezeNet(nn.Module):
    """SqueezeNet-style: fire modules with channel concat, ceil-mode max-pool, conv classifier."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(32, 8, 16, 16),
            Fire(32, 8, 16, 16),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(32, 12, 24, 24),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(48, classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1)
        )

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 2 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(2 * growth)
        self.conv2 = nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.norm1(x)))
        y = self.conv2(F.relu(self.norm2(y)))
        return torch.cat([x, y], 1)


class TinyDenseNet(nn.Module):
    """DenseNet-style: dense block (BN-ReLU-conv, concat growth), transition with avg-pool."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.block = nn.Sequential(DenseLayer(16, 8), DenseLayer(24, 8), DenseLayer(32, 8))
        self.transition = nn.Sequential(
            nn.BatchNorm2d(40), nn.ReLU(), nn.Conv2d(40, 20, 1, bias=False), nn.AvgPool2d(2, 2)
        )
        self.norm = nn.BatchNorm2d(20)
        self.fc = nn.Linear(20, classes)

    def forward(self, x):
        x = self.transition(self.block(self.stem(x)))
        x = F.relu(self.norm(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class BasicConv(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class TinyInception(nn.Module):
    """Inception-style block: parallel 1x1 / 5x5 / double 3x3 / avg-pool branches (ceil mode, padding,
    count_include_pad=False), concat, then a ceil-mode avg-pool and a linear head."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = BasicConv(3, 16, kernel_size=3, stride=2)
        self.b1 = BasicConv(16, 8, kernel_size=1)
        self.b5_1 = BasicConv(16, 6, kernel_size=1)
        self.b5_2 = BasicConv(6, 8, kernel_size=5, padding=2)
        self.b3_1 = BasicConv(16, 8, kernel_size=1)
        self.b3_2 = BasicConv(8, 12, kernel_size=3, padding=1)
        self.b3_3 = BasicConv(12, 12, kernel_size=(1, 3), padding=(0, 1))
        self.bp = BasicConv(16, 4, kernel_size=1)
        self.pool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(32 * 8 * 8, classes)

    def forward(self, x):
        x = self.stem(x)
        b1 = self.b1(x)
        b5 = self.b5_2(self.b5_1(x))
        b3 = self.b3_3(self.b3_2(self.b3_1(x)))
        bp = self.bp(F.avg_pool2d(x, 3, 1, 1, ceil_mode=True, count_include_pad=False))
        x = torch.cat([b1, b5, b3, bp], 1)
        x = self.pool(x)
        return self.fc(torch.flatten(x, 1))


ZOO = {
    "resnet": (TinyResNet, [1, 3, 32, 32]),
    "mobilenetv2": (TinyMobileNetV2, [1, 3, 32, 32]),
    "vgg": (TinyVGG, [1, 3, 32, 32]),
    "squeezenet": (TinySqueezeNet, [1, 3, 48, 48]),
    "densenet": (TinyDenseNet, [1, 3, 16, 16]),
    "inception": (TinyInception, [1, 3, 31, 31]),
}


def build(name, seed=0):
    """The model in eval mode, with every parameter and BatchNorm statistic drawn at random."""
    cls, shape = ZOO[name]
    torch.manual_seed(seed)
    model = cls()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1)
    return model.eval(), shape


def write(name, out_dir, seed=0):
    model, shape = build(name, seed)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 1))
    stem = os.path.join(out_dir, name)
    ep = torch.export.export(model, (x,))
    torch.export.save(ep, stem + ".pt2")
    torch.onnx.export(
        model,
        (x,),
        stem + ".onnx",
        dynamo=True,
        opset_version=18,
        input_names=["input"],
        output_names=["logits"],
        verbose=False,
        external_data=False,
    )
    torch.save(model.state_dict(), stem + ".pth")
    # the class file for the state_dict: this module's source, with the class chosen by --class
    shutil.copyfile(inspect.getsourcefile(sys.modules[__name__]), stem + "_class.py")
    return {"name": name, "class": type(model).__name__, "shape": shape}


def main(argv):
    out_dir = argv[0]
    names = argv[1:] or list(ZOO)
    os.makedirs(out_dir, exist_ok=True)
    entries = [write(n, out_dir) for n in names]
    with open(os.path.join(out_dir, "zoo.json"), "w") as f:
        json.dump(entries, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])

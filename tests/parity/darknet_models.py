"""DarkNet networks written by the tests: .cfg text with the layer structure of yolov3-tiny,
yolov4-tiny, yolov3 and a darknet19-style classifier (this project's own cfg text), plus one net per
group of section semantics, each with a .weights file of seeded values in DarkNet's layout.

The builder tracks channels and map sizes itself (independently of the runner's parser) to know how
many floats each layer stores: biases, then scales, rolling mean and rolling variance when
batch_normalize=1, then the kernel; a [connected] layer stores biases then weights.

`width` divides every hidden layer's filter count (1 = the published widths; CI uses narrower nets
of the same topology: same layers, same heads, same input size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ANCHORS_TINY = "10,14, 23,27, 37,58, 81,82, 135,169, 344,319"
ANCHORS_V3 = "10,13, 16,30, 33,23, 30,61, 62,45, 59,119, 116,90, 156,198, 373,326"
CLASSES = 80


class Net:
    def __init__(self, width: int, height: int, channels: int = 3, divisor: int = 1) -> None:
        self.sections = [
            f"[net]\n# written by the mmbroker tests\nbatch=1\nwidth={width}\nheight={height}\n"
            f"channels={channels}\nmomentum=0.9\ndecay=0.0005\n"
        ]
        self.divisor = divisor
        self.shapes: list[tuple[int, int, int]] = []  # (c, h, w) of each layer's output
        self.input = (channels, height, width)
        self.sizes: list[tuple[str, list[int], float]] = []  # per weighted layer: (kind, [biases, kernel], gain)

    # -- shapes
    def shape(self, ref: int = -1) -> tuple[int, int, int]:
        if not self.shapes:
            return self.input
        return self.shapes[ref if ref < 0 else ref]

    def _add(self, text: str, shape: tuple[int, int, int]) -> int:
        self.sections.append(text)
        self.shapes.append(shape)
        return len(self.shapes) - 1

    def _abs(self, ref: int) -> int:
        return ref + len(self.shapes) if ref < 0 else ref

    # -- layers
    def conv(
        self,
        filters: int,
        size: int = 3,
        stride: int = 1,
        bn: bool = True,
        act: str = "leaky",
        groups: int = 1,
        head: bool = False,
        pad: int = 1,
        gain: float = 1.0,
    ) -> int:
        c, h, w = self.shape()
        if not head:
            filters = max(filters // self.divisor, groups)
        p = size // 2 if pad else 0
        out = (filters, (h + 2 * p - size) // stride + 1, (w + 2 * p - size) // stride + 1)
        self.sizes.append(("conv_bn" if bn else "conv", [filters, filters * (c // groups) * size * size], gain))
        text = (
            f"[convolutional]\n{'batch_normalize=1' if bn else ''}\nfilters={filters}\nsize={size}\n"
            f"stride={stride}\npad={pad}\nactivation={act}\n" + (f"groups={groups}\n" if groups > 1 else "")
        )
        return self._add(text, out)

    def connected(self, outputs: int, act: str = "linear") -> int:
        c, h, w = self.shape()
        self.sizes.append(("connected", [outputs, outputs * c * h * w], 1.0))
        return self._add(f"[connected]\noutput={outputs}\nactivation={act}\n", (outputs, 1, 1))

    def maxpool(self, size: int = 2, stride: int = 2) -> int:
        c, h, w = self.shape()
        pad = size - 1
        return self._add(
            f"[maxpool]\nsize={size}\nstride={stride}\n",
            (c, (h + pad - size) // stride + 1, (w + pad - size) // stride + 1),
        )

    def avgpool(self) -> int:
        return self._add("[avgpool]\n", (self.shape()[0], 1, 1))

    def softmax(self) -> int:
        return self._add("[softmax]\ngroups=1\n", self.shape())

    def dropout(self) -> int:
        return self._add("[dropout]\nprobability=.5\n", self.shape())

    def shortcut(self, ref: int, act: str = "linear", alpha: float | None = None) -> int:
        extra = f"alpha={alpha}\n" if alpha is not None else ""
        return self._add(f"[shortcut]\nfrom={ref}\nactivation={act}\n{extra}", self.shape())

    def route(self, *refs: int, groups: int = 1, group_id: int = 0) -> int:
        shapes = [self.shapes[self._abs(r)] for r in refs]
        c = sum(s[0] // groups for s in shapes)
        extra = f"groups={groups}\ngroup_id={group_id}\n" if groups > 1 else ""
        return self._add(f"[route]\nlayers={','.join(map(str, refs))}\n{extra}", (c, shapes[0][1], shapes[0][2]))

    def upsample(self, stride: int = 2) -> int:
        c, h, w = self.shape()
        return self._add(f"[upsample]\nstride={stride}\n", (c, h * stride, w * stride))

    def reorg(self, stride: int = 2) -> int:
        c, h, w = self.shape()
        return self._add(f"[reorg]\nstride={stride}\n", (c * stride * stride, h // stride, w // stride))

    def yolo(self, mask: str, anchors: str, num: int, classes: int = CLASSES) -> int:
        return self._add(
            f"[yolo]\nmask={mask}\nanchors={anchors}\nclasses={classes}\nnum={num}\njitter=.3\n"
            "ignore_thresh=.7\ntruth_thresh=1\nrandom=1\n",
            self.shape(),
        )

    def region(self, anchors: str, num: int, classes: int) -> int:
        return self._add(
            f"[region]\nanchors={anchors}\nbias_match=1\nclasses={classes}\ncoords=4\nnum={num}\n"
            "softmax=1\njitter=.2\nrescore=1\nthresh=.6\nrandom=1\n",
            self.shape(),
        )

    def raw(self, text: str, shape: tuple[int, int, int] | None = None) -> int:
        return self._add(text, shape or self.shape())

    # -- files
    def cfg(self) -> str:
        return "\n".join(self.sections)

    def weights(self, seed: int = 0, version: tuple[int, int, int] = (0, 2, 0), seen: int = 32013312) -> bytes:
        """Header, then each weighted layer's floats: biases ~ N(0, 0.1), BN scales ~ U(0.5, 1.5),
        means ~ N(0, 0.1), variances ~ U(0.5, 1.5), kernels ~ N(0, 1/fan_in) (outputs stay of order 1
        through 100 layers)."""
        rng = np.random.default_rng(seed)
        major, minor, revision = version
        wide = (major * 10 + minor) >= 2 and major < 1000 and minor < 1000
        parts = [
            np.array([major, minor, revision], "<i4").tobytes(),
            np.array([seen], "<u8" if wide else "<u4").tobytes(),
        ]
        for kind, (n, k), gain in self.sizes:
            biases = rng.normal(0, 0.1, n)
            kernel = rng.normal(0, gain / np.sqrt(k // n), k)
            if kind == "conv_bn":
                arrays = [biases, rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n), rng.uniform(0.5, 1.5, n), kernel]
            else:
                arrays = [biases, kernel]
            parts += [a.astype("<f4").tobytes() for a in arrays]
        return b"".join(parts)

    def write(self, folder: Path, name: str, **kw) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        cfg, weights = folder / f"{name}.cfg", folder / f"{name}.weights"
        cfg.write_text(self.cfg())
        weights.write_bytes(self.weights(**kw))
        return cfg, weights


def _tiny_heads(n: Net, tap: int, second_mask: str) -> None:
    """The two heads of the tiny YOLOs: 13x13 on the last map, 26x26 on it upsampled and routed with
    layer `tap`."""
    n.conv(256, 1)
    n.conv(512)
    n.conv(255, 1, bn=False, act="linear", head=True)
    n.yolo("3,4,5", ANCHORS_TINY, 6)
    n.route(-4)
    n.conv(128, 1)
    n.upsample()
    n.route(-1, tap)
    n.conv(256)
    n.conv(255, 1, bn=False, act="linear", head=True)
    n.yolo(second_mask, ANCHORS_TINY, 6)


def yolov3_tiny(size: tuple[int, int] = (416, 416), divisor: int = 1) -> Net:
    n = Net(size[1], size[0], divisor=divisor)
    for f in (16, 32, 64, 128, 256):
        n.conv(f)
        n.maxpool()
    n.conv(512)
    n.maxpool(2, 1)  # keeps the size: pads right and bottom only
    n.conv(1024)
    _tiny_heads(n, 8, "0,1,2")
    return n


def _csp(n: Net, filters: int) -> None:
    """yolov4-tiny's CSP block: half the channels through two convolutions, concatenated back."""
    n.conv(filters)
    n.route(-1, groups=2, group_id=1)
    n.conv(filters // 2)
    n.conv(filters // 2)
    n.route(-1, -2)
    n.conv(filters, 1)
    n.route(-6, -1)
    n.maxpool()


def yolov4_tiny(size: tuple[int, int] = (416, 416), divisor: int = 1) -> Net:
    n = Net(size[1], size[0], divisor=divisor)
    n.conv(32, stride=2)
    n.conv(64, stride=2)
    for f in (64, 128, 256):
        _csp(n, f)
    n.conv(512)
    _tiny_heads(n, 23, "1,2,3")
    return n


def yolov3(size: tuple[int, int] = (416, 416), divisor: int = 1) -> Net:
    n = Net(size[1], size[0], divisor=divisor)
    n.conv(32)
    taps = []
    for filters, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        n.conv(filters, stride=2)
        for _ in range(blocks):
            n.conv(filters // 2, 1)
            n.conv(filters)
            n.shortcut(-3)
        taps.append(len(n.shapes) - 1)
    for filters, mask, tap in ((512, "6,7,8", None), (256, "3,4,5", taps[3]), (128, "0,1,2", taps[2])):
        if tap is not None:
            n.route(-4)
            n.conv(filters, 1)
            n.upsample()
            n.route(-1, tap)
        for _ in range(3):
            n.conv(filters, 1)
            n.conv(filters * 2)
        # outputs of order 1: 75 layers of residual sums grow the maps, and float32 summation order
        # alone then moves values near zero by more than the check's absolute tolerance
        n.conv(255, 1, bn=False, act="linear", head=True, gain=0.1)
        n.yolo(mask, ANCHORS_V3, 9)
    return n


def darknet19(size: int = 224, divisor: int = 1, classes: int = 1000) -> Net:
    """darknet19.cfg's structure: 3x3 / 1x1 convolution stacks between max pools, a 1x1 convolution
    to the classes, global average pooling, softmax."""
    n = Net(size, size, divisor=divisor)
    n.conv(32)
    n.maxpool()
    n.conv(64)
    n.maxpool()
    for f, reps in ((128, 1), (256, 1), (512, 2), (1024, 2)):
        n.conv(f)
        for _ in range(reps):
            n.conv(f // 2, 1)
            n.conv(f)
        if f != 1024:
            n.maxpool()
    n.conv(classes, 1, bn=False, act="linear", head=True, gain=20.0)  # logits that spread after averaging
    n.avgpool()
    n.softmax()
    n.raw("[cost]\ntype=sse\n")
    return n


def ops_activations() -> Net:
    """Every activation converted, grouped and strided convolutions, a scaled shortcut, dropout."""
    n = Net(20, 12)
    n.conv(8, act="relu")
    n.conv(8, act="logistic", bn=False)
    n.conv(8, act="mish", groups=2)
    n.conv(8, act="swish", stride=2)
    n.conv(8, 1, act="leaky")
    n.shortcut(-2, act="leaky", alpha=0.5)
    n.dropout()
    n.conv(8, 5, act="linear", pad=0)
    return n


def ops_yolov2() -> Net:
    """YOLOv2's passthrough: a [reorg] of an earlier map routed together with the deeper one, and a
    [region] head."""
    n = Net(48, 32)
    n.conv(16)
    n.maxpool()
    n.conv(32)
    tap = n.conv(16, 1)
    n.maxpool()
    n.conv(64)
    n.conv(64)
    n.route(tap - len(n.shapes))
    n.conv(8, 1)
    n.reorg()
    n.route(-1, -4)
    n.conv(64)
    n.conv(40, 1, bn=False, act="linear", head=True)
    n.region("1.3,1.7, 3.2,4.0, 5.1,8.1, 9.5,4.8, 11.2,10.0", 5, 3)
    return n


def ops_classifier() -> Net:
    """[connected] layers after a feature map (DarkNet's CHW flattening), softmax over classes."""
    n = Net(9, 7)
    n.conv(6, act="leaky")
    n.maxpool(3, 2)
    n.connected(32, act="leaky")
    n.dropout()
    n.connected(10, act="linear")
    n.softmax()
    return n

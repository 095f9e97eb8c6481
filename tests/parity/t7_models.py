"""Torch7 networks written by the tests in Torch7's binary serialization (torch/File.lua
`writeObject`, the documented format: type tags, reference indexes, "V 1" class headers, tensors as
sizes + strides + offset + storage), with seeded weights, each module's table holding the fields
Torch's nn writes (weights, hyper-parameters, empty output/gradInput buffers, `train`, `_type`).
No Lua and no Torch are needed to make them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN = 0, 1, 2, 3, 4, 5


class Module:
    def __init__(self, cls: str, fields: dict) -> None:
        self.cls = cls
        self.fields = fields


class LongStorage:
    def __init__(self, values: list[int]) -> None:
        self.values = values


class Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.count = 0
        self.memo: dict[int, int] = {}

    def _int(self, v: int) -> None:
        self.parts.append(np.array([v], "<i4").tobytes())

    def _long(self, *v: int) -> None:
        self.parts.append(np.array(v, "<i8").tobytes())

    def _string(self, s: str) -> None:
        b = s.encode()
        self._int(len(b))
        self.parts.append(b)

    def _index(self, obj: object) -> bool:
        """Write the reference index; True when the object was written before."""
        seen = id(obj) in self.memo
        if not seen:
            self.count += 1
            self.memo[id(obj)] = self.count
        self._int(self.memo[id(obj)])
        return seen

    def _header(self, cls: str) -> None:
        self._string("V 1")
        self._string(cls)

    def obj(self, o: object) -> None:
        if o is None:
            self._int(NIL)
        elif isinstance(o, bool):
            self._int(BOOLEAN)
            self._int(int(o))
        elif isinstance(o, (int, float)):
            self._int(NUMBER)
            self.parts.append(np.array([o], "<f8").tobytes())
        elif isinstance(o, str):
            self._int(STRING)
            self._string(o)
        elif isinstance(o, (dict, list)):
            self._int(TABLE)
            if self._index(o):
                return
            items = list(o.items()) if isinstance(o, dict) else [(i + 1, v) for i, v in enumerate(o)]
            self._int(len(items))
            for k, v in items:
                self.obj(k)
                self.obj(v)
        elif isinstance(o, Module):
            self._int(TORCH)
            if self._index(o):
                return
            self._header(o.cls)
            self.obj(o.fields)
        elif isinstance(o, LongStorage):
            self._int(TORCH)
            if self._index(o):
                return
            self._header("torch.LongStorage")
            self._long(len(o.values))
            self._long(*o.values)
        elif isinstance(o, np.ndarray):
            self._tensor(o)
        else:
            raise TypeError(type(o))

    def _tensor(self, a: np.ndarray) -> None:
        self._int(TORCH)
        if self._index(a):
            return
        self._header("torch.FloatTensor")
        if a.size == 0:  # an empty tensor: no dimensions, offset 1, no storage
            self._int(0)
            self._long(1)
            self._int(NIL)
            return
        self._int(a.ndim)
        self._long(*a.shape)
        self._long(*[s // 4 for s in np.ascontiguousarray(a, np.float32).strides])
        self._long(1)
        self._int(TORCH)
        self.count += 1
        self._int(self.count)
        self._header("torch.FloatStorage")
        self._long(a.size)
        self.parts.append(np.ascontiguousarray(a, "<f4").tobytes())

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def empty() -> np.ndarray:
    return np.zeros((0,), np.float32)


def module(cls: str, **fields: object) -> Module:
    base: dict = {"output": empty(), "gradInput": empty(), "train": False, "_type": "torch.FloatTensor"}
    base.update(fields)
    return Module(cls, base)


def container(cls: str, mods: list[Module], **fields: object) -> Module:
    # "modules" first: OpenCV's importer reads dpnn's Inception only when its modules come before `module`
    return Module(cls, {"modules": mods, **fields, "output": empty(), "gradInput": empty(), "train": False})


class Maker:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def conv(self, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0, mm: bool = False) -> Module:
        w = self.rng.normal(0, 1.0 / np.sqrt(cin * k * k), (cout, cin, k, k)).astype(np.float32)
        return module(
            "nn.SpatialConvolutionMM" if mm else "nn.SpatialConvolution",
            nInputPlane=cin,
            nOutputPlane=cout,
            kW=k,
            kH=k,
            dW=stride,
            dH=stride,
            padW=pad,
            padH=pad,
            weight=w.reshape(cout, -1) if mm else w,
            bias=self.rng.normal(0, 0.1, cout).astype(np.float32),
            gradWeight=empty(),
            gradBias=empty(),
        )

    def bn(self, c: int, old: bool = False) -> Module:
        var = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        stats = {"running_std": (1 / np.sqrt(var + 1e-5)).astype(np.float32)} if old else {"running_var": var}
        return module(
            "nn.SpatialBatchNormalization",
            eps=1e-5,
            momentum=0.1,
            affine=True,
            running_mean=self.rng.normal(0, 0.1, c).astype(np.float32),
            **stats,
            weight=self.rng.uniform(0.5, 1.5, c).astype(np.float32),
            bias=self.rng.normal(0, 0.1, c).astype(np.float32),
        )

    def linear(self, cin: int, cout: int) -> Module:
        return module(
            "nn.Linear",
            weight=self.rng.normal(0, 1.0 / np.sqrt(cin), (cout, cin)).astype(np.float32),
            bias=self.rng.normal(0, 0.1, cout).astype(np.float32),
            gradWeight=empty(),
            gradBias=empty(),
        )


def relu() -> Module:
    return module("nn.ReLU", threshold=0, val=0, inplace=False)


def max_pool(k: int, s: int, pad: int = 0, ceil: bool = False) -> Module:
    return module("nn.SpatialMaxPooling", kW=k, kH=k, dW=s, dH=s, padW=pad, padH=pad, ceil_mode=ceil, indices=empty())


def avg_pool(k: int, s: int, pad: int = 0, ceil: bool = False, include_pad: bool = True) -> Module:
    return module(
        "nn.SpatialAveragePooling",
        kW=k,
        kH=k,
        dW=s,
        dH=s,
        padW=pad,
        padH=pad,
        ceil_mode=ceil,
        count_include_pad=include_pad,
        divide=True,
    )


def view(*size: int) -> Module:
    return module("nn.View", size=LongStorage(list(size)), numElements=int(np.prod([abs(s) for s in size])))


def lp_pool(p: float, k: int, s: int) -> Module:
    """nn.SpatialLPPooling: a Sequential of Power(p), SpatialAveragePooling, MulConstant(k*k), Power(1/p)."""
    return container(
        "nn.SpatialLPPooling",
        [
            module("nn.Power", pow=p),
            avg_pool(k, s),
            module("nn.MulConstant", constant_scalar=float(k * k), inplace=False),
            module("nn.Power", pow=1.0 / p),
        ],
    )


def t7_cnn(seed: int = 0) -> Module:
    """Convolution (also the MM form), batch norm (also the old running_std), ReLU, ceil-mode max
    pooling, Concat and DepthConcat branches (DepthConcat centring a smaller map), average pooling
    in ceil mode, View, Linear, Dropout, Tanh, Normalize."""
    m = Maker(seed)
    branch_a = container("nn.Sequential", [m.conv(8, 4, 1), relu()])
    branch_b = container("nn.Sequential", [m.conv(8, 4, 3, pad=1, mm=True), module("nn.Tanh")])
    deep_a = m.conv(8, 4, 1)
    deep_b = container("nn.Sequential", [m.conv(8, 6, 3), module("nn.Sigmoid")])
    return container(
        "nn.Sequential",
        [
            m.conv(3, 8, 3, pad=1),
            m.bn(8),
            relu(),
            max_pool(3, 2, ceil=True),
            container("nn.Concat", [branch_a, branch_b], dimension=2),
            container("nn.DepthConcat", [deep_a, deep_b], dimension=2),
            m.bn(10, old=True),
            avg_pool(3, 2, pad=1, ceil=True),
            view(-1, 10 * 5 * 5),
            m.linear(250, 32),
            relu(),
            module("nn.Dropout", p=0.25, v2=False, noise=empty()),
            m.linear(32, 16),
            module("nn.Normalize", p=2.0, eps=1e-10),
        ],
    )


def t7_resnet(seed: int = 1) -> Module:
    """A residual block (ConcatTable of a branch and Identity, CAddTable), SpatialLPPooling, a
    JoinTable of two branches, a global average, Linear and SoftMax."""
    m = Maker(seed)
    block = container("nn.Sequential", [m.conv(8, 8, 3, pad=1), m.bn(8), relu(), m.conv(8, 8, 3, pad=1), m.bn(8)])
    return container(
        "nn.Sequential",
        [
            m.conv(3, 8, 3, pad=1),
            relu(),
            container("nn.ConcatTable", [block, module("nn.Identity")]),
            module("nn.CAddTable", inplace=False),
            relu(),
            lp_pool(2.0, 2, 2),
            container("nn.ConcatTable", [m.conv(8, 4, 1), m.conv(8, 4, 3, pad=1)]),
            module("nn.JoinTable", dimension=2),
            avg_pool(8, 8),
            view(-1),
            m.linear(8, 10),
            module("nn.SoftMax"),
        ],
    )


def t7_inception(seed: int = 2) -> Module:
    """An OpenFace-style Inception block (dpnn's nn.Inception around a DepthConcat of 1x1, 1x1 -> 3x3,
    3x3 max pool -> 1x1 and 5x5 stride-2 branches), then a global average and Linear."""
    m = Maker(seed)
    depth = container(
        "nn.DepthConcat",
        [
            container("nn.Sequential", [m.conv(16, 8, 1), m.bn(8), relu()]),
            container("nn.Sequential", [m.conv(16, 8, 1), relu(), m.conv(8, 12, 3, pad=1), relu()]),
            container("nn.Sequential", [max_pool(3, 1, pad=1), m.conv(16, 4, 1), relu()]),
            container("nn.Sequential", [m.conv(16, 4, 5, stride=2, pad=2), relu()]),
        ],
        dimension=2,
    )
    inception = container("nn.Inception", [depth], module=depth, transfer=relu(), poolTransfer=relu())
    return container(
        "nn.Sequential",
        [
            m.conv(3, 16, 3, stride=2, pad=1),
            m.bn(16),
            relu(),
            inception,
            avg_pool(8, 8),
            view(28),
            m.linear(28, 10),
        ],
    )


def t7_unknown(seed: int = 3) -> Module:
    m = Maker(seed)
    return container("nn.Sequential", [m.conv(3, 4, 3, pad=1), module("nn.SpatialUpSamplingBilinear", scale_factor=2)])


NETS = {
    "t7_cnn": (t7_cnn, [1, 3, 16, 16]),
    "t7_resnet": (t7_resnet, [1, 3, 16, 16]),
    "t7_inception": (t7_inception, [1, 3, 16, 16]),
}


def write(net: Module, path: Path) -> Path:
    w = Writer()
    w.obj(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(w.bytes())
    return path

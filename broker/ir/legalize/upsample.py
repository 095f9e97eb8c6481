"""Nearest-neighbour upsampling by integer factors (a Resize that repeats every pixel s times along
height and width: DarkNet's [upsample], `nn.Upsample(scale_factor=s)`) for targets without Resize,
as Reshape and Concat of copies, every value of rank 4 at most:

    [N, C, H, W] -> [N, C*H, W, 1] -> concat s copies on the last axis -> [N, C*H, 1, W*s]
                 -> concat s copies on axis 2 -> [N, C*H, s, W*s] -> [N, C, H*s, W*s]

Exact (only copies). Taken only for mode nearest with coordinate_transformation_mode asymmetric
and nearest_mode floor, the form in which output pixel i reads input pixel floor(i / s).
"""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor, attr
from .registry import rewrite


def _factors(node: onnx.NodeProto, ed: GraphEditor, shape: list[int]) -> tuple[int, int] | None:
    scales = ed.const(node.input[2]) if len(node.input) > 2 else None
    sizes = ed.const(node.input[3]) if len(node.input) > 3 else None
    if scales is not None and scales.size == 4:
        factors = [float(v) for v in scales]
    elif sizes is not None and sizes.size == 4:
        factors = [float(o) / float(i) for o, i in zip(sizes, shape)]
    else:
        return None
    if factors[:2] != [1.0, 1.0] or any(f < 1 or f != int(f) for f in factors[2:]):
        return None
    return int(factors[2]), int(factors[3])


@rewrite("Resize", produces=("Reshape", "Concat"))
def resize_nearest_as_concat(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    shape = ed.static_shape(node.input[0])
    if shape is None or len(shape) != 4 or attr(node, "mode", "nearest") != "nearest":
        return None
    if attr(node, "coordinate_transformation_mode", "half_pixel") != "asymmetric":
        return None
    if attr(node, "nearest_mode", "round_prefer_floor") != "floor" or attr(node, "antialias", 0):
        return None
    factors = _factors(node, ed, shape)
    if factors is None:
        return None
    n, c, h, w = shape
    sh, sw = factors
    out, name = node.output[0], node.name or "upsample"
    new: list = []

    def reshape(x: str, dims: list[int], hint: str) -> str:
        y = ed.fresh(f"{out}_{hint}")
        new.append(ed.node("Reshape", [x, ed.add_const(f"{out}_{hint}_shape", np.array(dims, np.int64))], [y],
                           f"{name}_{hint}"))  # fmt: skip
        return y

    def copies(x: str, axis: int, count: int, hint: str) -> str:
        if count == 1:
            return x
        y = ed.fresh(f"{out}_{hint}")
        new.append(ed.node("Concat", [x] * count, [y], f"{name}_{hint}", axis=axis))
        return y

    x = reshape(node.input[0], [n, c * h, w, 1], "columns")
    x = copies(x, 3, sw, "wide")
    x = reshape(x, [n, c * h, 1, w * sw], "rows")
    x = copies(x, 2, sh, "tall")
    new.append(ed.node("Reshape", [x, ed.add_const(f"{out}_shape", np.array([n, c, h * sh, w * sw], np.int64))],
                       [out], f"{name}_merge"))  # fmt: skip
    return new

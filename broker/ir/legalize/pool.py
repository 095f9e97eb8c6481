"""AveragePool that leaves padded cells out of the average (count_include_pad=0), for targets
whose average pooling counts them or cannot pad asymmetrically: the same windows averaged over
the whole kernel (count_include_pad=1, ceil_mode turned into end padding), times a constant
kernel-size / in-input-cells factor per output position."""

from __future__ import annotations

import numpy as np
import onnx

from runners.common.codegen import resolve_pads

from .graph import GraphEditor, attr
from .registry import rewrite


def _geometry(node: onnx.NodeProto, ed: GraphEditor) -> tuple | None:
    shape = ed.static_shape(node.input[0])
    kernel = list(attr(node, "kernel_shape", []) or [])
    n = len(kernel)
    if shape is None or not n or len(shape) != n + 2 or attr(node, "count_include_pad", 0):
        return None
    spatial = shape[2:]
    strides = list(attr(node, "strides", None) or [1] * n)
    dilations = list(attr(node, "dilations", None) or [1] * n)
    begins, ends = resolve_pads(spatial, kernel, strides, dilations, attr(node, "pads", None),
                                attr(node, "auto_pad", "NOTSET"))  # fmt: skip
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    out = []
    for i in range(n):
        size = spatial[i] + begins[i] + ends[i] - eff[i]
        if attr(node, "ceil_mode", 0):
            o = -(-size // strides[i]) + 1
            if (o - 1) * strides[i] >= spatial[i] + begins[i]:
                o -= 1
        else:
            o = size // strides[i] + 1
        out.append(o)
    # end padding that makes every window fit (ceil mode's last windows)
    ends = [max(e, (o - 1) * s + f - sp - b) for e, o, s, f, sp, b in zip(ends, out, strides, eff, spatial, begins)]
    return spatial, kernel, strides, dilations, begins, ends, out


def _counts(spatial, kernel, strides, dilations, begins, out) -> np.ndarray:
    """Cells of each output window that lie inside the input."""
    per_axis = []
    for i in range(len(kernel)):
        starts = np.arange(out[i]) * strides[i] - begins[i]
        cells = starts[:, None] + np.arange(kernel[i])[None, :] * dilations[i]
        per_axis.append(((cells >= 0) & (cells < spatial[i])).sum(axis=1))
    counts = per_axis[0]
    for c in per_axis[1:]:
        counts = np.multiply.outer(counts, c)
    return counts


def _exclude_pad(node: onnx.NodeProto, ed: GraphEditor, only: str = "") -> list[onnx.NodeProto] | None:
    """`only`: "asymmetric" (begin pads that differ from end pads) or "wide" (those, or a pad over
    half the kernel, which a pooling layer with symmetric `padding` such as torch's cannot hold)."""
    geo = _geometry(node, ed)
    if geo is None:
        return None
    spatial, kernel, strides, dilations, begins, ends, out = geo
    if not any(begins) and not any(ends):
        return None
    wide = any(2 * p > k for p, k in zip(begins, kernel))
    if (only == "asymmetric" and begins == ends) or (only == "wide" and begins == ends and not wide):
        return None
    counts = _counts(spatial, kernel, strides, dilations, begins, out)
    if (counts == 0).any():
        return None  # a window entirely in the padding: ONNX divides by zero there
    full = int(np.prod(kernel))
    scale = (full / counts.astype(np.float64)).astype(np.float32).reshape([1, 1] + list(out))
    pooled = ed.fresh(node.output[0] + "_sum_avg")
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": begins + ends, "count_include_pad": 1}
    if any(d != 1 for d in dilations):
        attrs["dilations"] = dilations
    factor = ed.add_const(node.output[0] + "_pad_factor", scale)
    return [
        ed.node("AveragePool", [node.input[0]], [pooled], (node.name or "avgpool") + "_include_pad", **attrs),
        ed.node("Mul", [pooled, factor], [node.output[0]], (node.name or "avgpool") + "_exclude_pad"),
    ]


@rewrite("AveragePool", form="AveragePool.exclude_pad", produces=("AveragePool", "Mul"))
def avgpool_exclude_pad(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _exclude_pad(node, ed)


@rewrite("AveragePool", form="AveragePool.exclude_pad_asymmetric", produces=("AveragePool", "Mul"))
def avgpool_exclude_pad_asymmetric(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _exclude_pad(node, ed, only="asymmetric")


def _pads_are_tf_same(node: onnx.NodeProto, ed: GraphEditor) -> bool:
    """The pads (ceil_mode's extension included) are what TensorFlow's padding='same' adds, and the
    window is not dilated: Keras's 'same' average pooling then leaves exactly them out."""
    geo = _geometry(node, ed)
    if geo is None:
        return False
    spatial, kernel, strides, dilations, begins, ends, _ = geo
    if any(d != 1 for d in dilations):
        return False
    same = resolve_pads(spatial, kernel, strides, dilations, None, "SAME_UPPER")
    return (begins, ends) == (list(same[0]), list(same[1]))


@rewrite("AveragePool", form="AveragePool.exclude_pad_unlike_same", produces=("AveragePool", "Mul"))
def avgpool_exclude_pad_unlike_same(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return None if _pads_are_tf_same(node, ed) else _exclude_pad(node, ed)


@rewrite("AveragePool", form="AveragePool.exclude_pad_wide", produces=("AveragePool", "Mul"))
def avgpool_exclude_pad_wide(node: onnx.NodeProto, ed: GraphEditor) -> list[onnx.NodeProto] | None:
    return _exclude_pad(node, ed, only="wide")

"""Helpers every code generator needs: Python identifiers and literals, explicit ONNX pads."""

import keyword
import re

import numpy as np


def identifier(name, fallback="v", reserved=()):
    """A Python identifier from an IR name (not a keyword, not in `reserved`)."""
    s = re.sub(r"\W+", "_", str(name)).strip("_") or fallback
    if s[0].isdigit():
        s = fallback + "_" + s
    if s in reserved or keyword.iskeyword(s):
        s += "_"
    return s


def lit(value):
    """A Python literal: numbers, strings, tuples (for shape-like attributes), lists."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != v:
            return "float('nan')"
        if v in (float("inf"), float("-inf")):
            return "float('%s')" % ("inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return "(%s,)" % inner if len(value) == 1 else "(%s)" % inner
    if isinstance(value, list):
        return "[%s]" % ", ".join(lit(v) for v in value)
    if value is None:
        return "None"
    raise TypeError("no literal for %r" % (value,))


def resolve_pads(spatial, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads as (begins, ends) with auto_pad resolved from the input's spatial sizes."""
    n = len(kernel)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(n):
            out = -(-spatial[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        return begins, ends
    if auto_pad == "VALID" or not pads:
        return [0] * n, [0] * n
    return list(pads[:n]), list(pads[n:])

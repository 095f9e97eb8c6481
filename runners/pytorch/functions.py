"""ONNX ops that no single torch call expresses, written as plain torch functions.

A converter that needs one calls `ctx.function(fn)`: the function's source is copied into the
generated file (which imports only torch), so the generated code stays self-contained and readable.
Each function uses only `torch`, `F` (torch.nn.functional) and builtins.
"""

import torch
import torch.nn.functional as F  # noqa: F401  (the generated file's name for it)


def reduce_prod(x, dims, keepdim=True):
    """The product over several dims (every dim when `dims` is empty): torch.prod takes one."""
    for d in sorted({d % x.dim() for d in (dims or range(x.dim()))}, reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


def slice_axes(x, starts, ends, axes=None, steps=None):
    """ONNX Slice with starts/ends/axes/steps read at run time (negative steps included)."""
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = x.shape[a]
        s, e = s + n if s < 0 else s, e + n if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), n), min(max(e, 0), n)
        else:
            s, e = min(max(s, 0), n - 1), min(max(e, -1), n - 1)
        x = x.index_select(a, torch.tensor(list(range(s, e, st)), dtype=torch.long))
    return x


def pad(x, pads, mode="constant", value=0, axes=None):
    """ONNX Pad with pads (and axes) read at run time. F.pad takes (begin, end) pairs from the last
    dim backwards, and only as many pairs as padded dims for its non-constant modes."""
    rank = x.dim()
    axes = [a % rank for a in (range(rank) if axes is None else axes)]
    flat = [0, 0] * rank
    for a, begin, end in zip(axes, pads[: len(axes)], pads[len(axes) :]):
        flat[2 * (rank - 1 - a)], flat[2 * (rank - 1 - a) + 1] = begin, end
    while len(flat) > 2 and flat[-2:] == [0, 0]:
        flat = flat[:-2]
    if mode == "constant":
        return F.pad(x, flat, value=value)
    return F.pad(x, flat, mode=mode)


def unsqueeze(x, axes):
    """ONNX Unsqueeze with axes read at run time (negative axes count in the output's rank)."""
    rank = x.dim() + len(axes)
    for a in sorted(a % rank for a in axes):
        x = x.unsqueeze(a)
    return x


def reshape(x, shape, allowzero=0):
    """ONNX Reshape with the shape read at run time: a 0 copies the input's dim unless allowzero."""
    if not allowzero:
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(shape)

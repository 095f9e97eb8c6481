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


def gather_nd(data, indices, batch_dims=0):
    """ONNX GatherND: the last dim of `indices` indexes the leading dims of `data` that follow its
    `batch_dims` batch dims."""
    batch = indices.shape[:batch_dims]
    data = data.reshape((-1,) + tuple(data.shape[batch_dims:]))
    indices = indices.reshape((-1,) + tuple(indices.shape[batch_dims:]))
    rows = torch.arange(data.shape[0]).reshape((-1,) + (1,) * (indices.dim() - 2))
    out = data[(rows,) + tuple(indices.unbind(-1))]
    return out.reshape(tuple(batch) + tuple(out.shape[1:]))


def scatter_nd(data, indices, updates, reduction="none"):
    """ONNX ScatterND: `updates` written (or combined by `reduction`) at the positions the last dim
    of `indices` gives in the leading dims of `data`."""
    k = indices.shape[-1]
    lead = data.shape[:k]
    flat_index = torch.zeros(indices.shape[:-1], dtype=torch.long)
    for j in range(k):
        flat_index = flat_index * lead[j] + indices[..., j] % lead[j]
    out = data.reshape((-1,) + tuple(data.shape[k:])).clone()
    rows = updates.reshape((-1,) + tuple(data.shape[k:]))
    if reduction == "none":
        out[flat_index.reshape(-1)] = rows
    elif reduction == "add":
        out.index_add_(0, flat_index.reshape(-1), rows)
    else:
        out.index_reduce_(0, flat_index.reshape(-1), rows, {"mul": "prod", "max": "amax", "min": "amin"}[reduction])
    return out.reshape(data.shape)


def one_hot(indices, depth, values, axis=-1):
    """ONNX OneHot: `values[1]` where the index (negative ones count from `depth`) meets the
    position along the new axis, `values[0]` elsewhere (an index out of range is all off)."""
    depth = int(depth)
    indices = indices.to(torch.int64)
    indices = torch.where(indices < 0, indices + depth, indices)
    hot = indices.unsqueeze(-1) == torch.arange(depth)
    return torch.where(hot, values[1], values[0]).movedim(-1, axis)


def reverse_sequence(x, lengths, batch_axis=1, time_axis=0):
    """ONNX ReverseSequence: the first `lengths[b]` steps of each batch entry reversed, the rest kept."""
    t = torch.arange(x.shape[time_axis]).unsqueeze(1)
    n = lengths.to(torch.int64).unsqueeze(0)
    source = torch.where(t < n, n - 1 - t, t)  # [time, batch]: the step each output step reads
    if batch_axis < time_axis:
        source = source.t()
    shape = [1] * x.dim()
    shape[time_axis], shape[batch_axis] = x.shape[time_axis], x.shape[batch_axis]
    return torch.gather(x, time_axis, source.reshape(shape).expand(x.shape))

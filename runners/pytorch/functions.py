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


def resize_weights(n_in, n_out, scale, mode, coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
                   exclude_outside, antialias, roi=(0.0, 1.0)):  # fmt: skip
    """The (n_out, n_in) matrix of ONNX's resize along one axis (ONNX's reference coefficients),
    and the output positions that tf_crop_and_resize takes from outside the input (or None)."""
    a = cubic_coeff_a
    width = scale * n_in  # ONNX's output width: the scale's, not the rounded size
    y = torch.arange(n_out, dtype=torch.float64)
    outside = None
    ctm = coordinate_transformation_mode
    if ctm == "align_corners":
        x = torch.zeros_like(y) if width == 1 else y * (n_in - 1) / (width - 1)
    elif ctm == "asymmetric":
        x = y / scale
    elif ctm == "tf_crop_and_resize":
        span = (roi[1] - roi[0]) * (n_in - 1)
        x = torch.full_like(y, span / 2) if width == 1 else y * span / (width - 1)
        x = x + roi[0] * (n_in - 1)
        outside = (x < 0) | (x > n_in - 1)
    elif ctm == "pytorch_half_pixel":
        x = torch.full_like(y, -0.5) if width == 1 else (y + 0.5) / scale - 0.5
    elif ctm == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    else:  # half_pixel_symmetric
        x = n_in / 2 * (1 - n_out / width) + (y + 0.5) / scale - 0.5
    ratio = torch.where(x == torch.floor(x), torch.ones_like(x), x - torch.floor(x))  # from the cell left of x
    r = ratio.unsqueeze(1)
    if mode == "nearest":
        up = {"round_prefer_floor": r > 0.5, "round_prefer_ceil": r >= 0.5, "floor": r > 1, "ceil": r > 0}
        up = up[nearest_mode] | (r == 1)
        coeffs = torch.cat([(~up).double(), up.double()], 1)
    elif not antialias and mode == "linear":
        coeffs = torch.cat([1 - r, r], 1)
    elif not antialias:
        q = 1 - r
        coeffs = torch.cat([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                            ((a + 2) * r - (a + 3)) * r * r + 1,
                            ((a + 2) * q - (a + 3)) * q * q + 1,
                            ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a], 1)  # fmt: skip
    else:  # antialiasing widens the filter when downsampling
        s = min(scale, 1.0)
        start = int(torch.floor(torch.tensor(-(1 if mode == "linear" else 2) / s)).item()) + 1
        d = torch.abs((torch.arange(start, 2 - start, dtype=torch.float64) - r) * s)
        if mode == "linear":
            coeffs = torch.clamp(1 - d, 0, 1)
        else:
            coeffs = torch.where(d <= 1, (a + 2) * d**3 - (a + 3) * d**2 + 1,
                                 torch.where(d < 2, a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a, 0.0))  # fmt: skip
        coeffs = coeffs / coeffs.sum(1, keepdim=True)
    n = coeffs.shape[1]
    cells = torch.ceil(x).long().unsqueeze(1) - n // 2 + torch.arange(n)  # the cell left of x, then n - 1 more
    if exclude_outside:
        coeffs = torch.where((cells < 0) | (cells >= n_in), 0.0, coeffs)
        coeffs = coeffs / coeffs.sum(1, keepdim=True)
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    return weights.scatter_add_(1, cells.clamp(0, n_in - 1), coeffs), outside


def resize(x, roi=None, scales=None, sizes=None, axes=None, mode="nearest",
           coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, antialias=0, keep_aspect_ratio_policy="stretch"):  # fmt: skip
    """ONNX Resize with its scales, sizes or roi read at run time, or in a mode torch's
    interpolation lacks: each resized axis is a matrix applied in turn (the resize is separable)."""
    rank = x.dim()
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    if sizes:
        scales = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
        if keep_aspect_ratio_policy != "stretch":
            scale = (min if keep_aspect_ratio_policy == "not_larger" else max)(scales)
            scales = [scale] * len(axes)
            sizes = [int(scale * x.shape[a] + 0.5) for a in axes]
    else:
        sizes = [int(s * x.shape[a]) for s, a in zip(scales, axes)]
    roi = roi or [0.0] * len(axes) + [1.0] * len(axes)
    out = x.double()
    for i, a in enumerate(axes):
        span = (roi[i], roi[i + len(axes)])
        if scales[i] == 1 and sizes[i] == x.shape[a] and span == (0.0, 1.0):
            continue
        weights, outside = resize_weights(x.shape[a], sizes[i], scales[i], mode, coordinate_transformation_mode,
                                          nearest_mode, cubic_coeff_a, exclude_outside, antialias, span)  # fmt: skip
        out = torch.movedim(torch.tensordot(out, weights, dims=([a], [1])), -1, a)
        if outside is not None:
            shape = [1] * rank
            shape[a] = -1
            out = torch.where(outside.reshape(shape), extrapolation_value, out)
    return out.to(x.dtype)


def recurrent(kind, x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None, direction="forward",
              layout=0, activations=None, clip=None, input_forget=0, linear_before_reset=0):  # fmt: skip
    """ONNX RNN, GRU or LSTM computed step by step, for the forms nn.RNN/nn.GRU/nn.LSTM lack (or
    weights computed at run time). Returns Y, Y_h and, for an LSTM, Y_c in ONNX's layout."""
    acts = {"Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Relu": torch.relu, "Softsign": F.softsign,
            "Softplus": F.softplus}  # fmt: skip
    if layout:
        x = x.transpose(0, 1)
        initial_h = None if initial_h is None else initial_h.transpose(0, 1)
        initial_c = None if initial_c is None else initial_c.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    dirs, hidden = w.shape[0], r.shape[-1]
    per_dir = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[kind]
    activations = activations or per_dir * dirs
    lens = torch.full((batch,), steps) if sequence_lens is None else sequence_lens.long()
    rows = torch.arange(batch)
    ys, hs, cs = [], [], []
    for d in range(dirs):
        f, g, h_act = [acts[a] for a in (activations[d * len(per_dir) : (d + 1) * len(per_dir)] + ["Tanh"] * 2)[:3]]
        wb, rb = (torch.zeros(2, w.shape[1], dtype=x.dtype) if b is None else b[d].reshape(2, -1)).unbind(0)
        h = torch.zeros(batch, hidden, dtype=x.dtype) if initial_h is None else initial_h[d]
        c = torch.zeros(batch, hidden, dtype=x.dtype) if initial_c is None else initial_c[d]
        pi, po, pf = (torch.zeros(3, hidden, dtype=x.dtype) if p is None else p[d].reshape(3, -1)).unbind(0)
        y = torch.zeros(steps, batch, hidden, dtype=x.dtype)
        backward = direction == "reverse" or d == 1
        for t in range(steps):
            index = (lens - 1 - t).clamp(min=0) if backward else torch.full((batch,), t)
            valid = (t < lens).unsqueeze(1)
            xt = x[index, rows]
            gates = xt @ w[d].t() + wb
            if kind == "GRU":  # gates z, r, h
                zr = gates[:, : 2 * hidden] + h @ r[d][: 2 * hidden].t() + rb[: 2 * hidden]
                zr = zr if clip is None else zr.clamp(-clip, clip)
                z, reset = f(zr).chunk(2, 1)
                rh, rbh = r[d][2 * hidden :], rb[2 * hidden :]
                hh = (reset * h) @ rh.t() + rbh if not linear_before_reset else reset * (h @ rh.t() + rbh)
                pre = gates[:, 2 * hidden :] + hh
                new_h = (1 - z) * g(pre if clip is None else pre.clamp(-clip, clip)) + z * h
            else:
                gates = gates + h @ r[d].t() + rb
                gates = gates if clip is None else gates.clamp(-clip, clip)
                if kind == "RNN":
                    new_h = f(gates)
                else:
                    gi, go, gf, gc = gates.chunk(4, 1)  # ONNX's gate order: i, o, f, c
                    i = f(gi + pi * c)
                    forget = 1 - i if input_forget else f(gf + pf * c)
                    new_c = forget * c + i * g(gc)
                    new_h = f(go + po * new_c) * h_act(new_c)
                    c = torch.where(valid, new_c, c)
            h = torch.where(valid, new_h, h)
            y[index, rows] = torch.where(valid, new_h, y[index, rows])
        ys.append(y)
        hs.append(h)
        cs.append(c)
    y, y_h, y_c = torch.stack(ys, 1), torch.stack(hs), torch.stack(cs)
    if layout:
        y, y_h, y_c = y.permute(2, 0, 1, 3), y_h.transpose(0, 1), y_c.transpose(0, 1)
    return (y, y_h, y_c) if kind == "LSTM" else (y, y_h)


def dynamic_quantize_linear(x):
    """ONNX DynamicQuantizeLinear: uint8 values, their scale and zero point from x's range (with 0)."""
    high, low = torch.clamp(x.max(), min=0), torch.clamp(x.min(), max=0)
    scale = torch.where(high == low, 1.0, high - low) / 255
    zero_point = torch.round(torch.clamp(-low / scale, 0, 255))
    y = torch.clamp(torch.round(x / scale) + zero_point, 0, 255)
    return y.to(torch.uint8), scale.to(x.dtype), zero_point.to(torch.uint8)


def dft(x, dft_length=None, axis=1, inverse=0, onesided=0):
    """ONNX DFT: x holds a real signal (last dim 1) or a complex one (last dim 2, real and imaginary
    parts); the result is complex (last dim 2) or, for an inverse one-sided transform, real."""
    axis = axis % x.dim()
    signal = x[..., 0] if x.shape[-1] == 1 else torch.view_as_complex(x.contiguous())
    if inverse and onesided:
        return torch.fft.irfft(signal, n=dft_length or 2 * (x.shape[axis] - 1), dim=axis).unsqueeze(-1)
    n = dft_length or x.shape[axis]
    out = torch.fft.ifft(signal, n=n, dim=axis) if inverse else torch.fft.fft(signal, n=n, dim=axis)
    if onesided:
        out = out.narrow(axis, 0, n // 2 + 1)
    return torch.view_as_real(out)


def unique(x, axis=None, sorted=1):
    """ONNX Unique: the unique values (or slices along `axis`), sorted or in order of first
    occurrence, with the index of each one's first occurrence, the inverse indices and the counts."""
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    positions = torch.arange(inverse.numel())
    first = torch.full((counts.numel(),), inverse.numel()).scatter_reduce(0, inverse.flatten(), positions, "amin")
    if not sorted:
        order = torch.argsort(first)
        rank = torch.argsort(order)
        values = values[order] if axis is None else values.index_select(axis, order)
        first, counts, inverse = first[order], counts[order], rank[inverse]
    return values, first, inverse.flatten(), counts


def center_crop_pad(x, shape, axes=None):
    """ONNX CenterCropPad: each axis cropped or zero-padded to its size around its centre."""
    axes = range(x.dim()) if axes is None else [a % x.dim() for a in axes]
    for a, size in zip(axes, shape):
        n = x.shape[a]
        if size < n:
            x = x.narrow(a, (n - size) // 2, size)
        elif size > n:
            before = list(x.shape)
            before[a] = (size - n) // 2
            after = list(x.shape)
            after[a] = size - n - before[a]
            x = torch.cat([x.new_zeros(before), x, x.new_zeros(after)], a)
    return x


def non_max_suppression(boxes, scores, max_output_boxes_per_class=None, iou_threshold=None, score_threshold=None,
                        center_point_box=0):  # fmt: skip
    """ONNX NonMaxSuppression: per batch and class, boxes by descending score (the lower index first
    among equal scores), each kept unless its IoU with a kept one exceeds the threshold. Returns
    (batch, class, box) rows."""
    limit = 0 if max_output_boxes_per_class is None else max(int(max_output_boxes_per_class), 0)
    iou_limit = 0.0 if iou_threshold is None else float(iou_threshold)
    if center_point_box:  # (x centre, y centre, width, height)
        low, high = boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2
    else:  # two corners (y, x), in either order
        low, high = torch.minimum(boxes[..., :2], boxes[..., 2:]), torch.maximum(boxes[..., :2], boxes[..., 2:])
    area = (high - low).prod(-1)
    selected = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = torch.sort(s, descending=True, stable=True)[1]
            if score_threshold is not None:
                order = order[s[order] > float(score_threshold)]
            kept = []
            for i in order.tolist():
                if len(kept) >= limit:
                    break
                if kept:
                    k = torch.tensor(kept)
                    inter = (torch.minimum(high[b, i], high[b, k]) - torch.maximum(low[b, i], low[b, k])).clamp(min=0)
                    inter = inter.prod(-1)
                    union = area[b, i] + area[b, k] - inter
                    iou = torch.where((inter > 0) & (area[b, k] > 0) & (area[b, i] > 0), inter / union, 0.0)
                    if bool((iou > iou_limit).any()):
                        continue
                kept.append(i)
            selected += [[b, c, i] for i in kept]
    return torch.tensor(selected, dtype=torch.int64).reshape(-1, 3)


def roi_align(x, rois, batch_indices, mode="avg", output_height=1, output_width=1, sampling_ratio=0,
              spatial_scale=1.0, half_pixel=True):  # fmt: skip
    """ONNX RoiAlign: each region's bins sampled on a regular grid by bilinear interpolation, the
    samples of a bin averaged or (mode "max") the largest weighted corner taken, as ONNX's reference
    computes them. Computed in double precision."""

    def samples(start, size, bins, grid, limit):
        """Per sample along one axis: (low cell, high cell, low weight, high weight)."""
        t = start + torch.arange(bins, dtype=torch.float64)[:, None] * size / bins
        t = (t + (torch.arange(grid, dtype=torch.float64)[None, :] + 0.5) * size / bins / grid).flatten()
        outside = (t < -1.0) | (t > limit)
        t = t.clamp(min=0)
        low = t.floor().long()
        edge = low >= limit - 1
        low = torch.where(edge, limit - 1, low)
        high = torch.where(edge, low, low + 1)
        frac = torch.where(edge, 0.0, t - low)
        keep = (~outside).double()
        return low * ~outside, high * ~outside, (1 - frac) * keep, frac * keep

    out = []
    data = x.double()
    for box, b in zip(rois.double() * spatial_scale - (0.5 if half_pixel else 0.0), batch_indices.tolist()):
        x0, y0, x1, y1 = box.tolist()
        width, height = (x1 - x0, y1 - y0) if half_pixel else (max(x1 - x0, 1.0), max(y1 - y0, 1.0))
        grid_h = sampling_ratio or int(-(-height // output_height))
        grid_w = sampling_ratio or int(-(-width // output_width))
        ylo, yhi, wylo, wyhi = samples(y0, height, output_height, grid_h, x.shape[2])
        xlo, xhi, wxlo, wxhi = samples(x0, width, output_width, grid_w, x.shape[3])
        f = data[b]
        corners = torch.stack([
            wylo[:, None] * wxlo[None, :] * f[:, ylo][:, :, xlo],
            wylo[:, None] * wxhi[None, :] * f[:, ylo][:, :, xhi],
            wyhi[:, None] * wxlo[None, :] * f[:, yhi][:, :, xlo],
            wyhi[:, None] * wxhi[None, :] * f[:, yhi][:, :, xhi],
        ])  # fmt: skip
        bins = (x.shape[1], output_height, grid_h, output_width, grid_w)
        if mode == "max":
            out.append(corners.amax(0).reshape(bins).amax((2, 4)))
        else:
            out.append(corners.sum(0).reshape(bins).sum((2, 4)) / max(grid_h * grid_w, 1))
    return torch.stack(out).to(x.dtype)

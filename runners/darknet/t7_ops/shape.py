"""View / Reshape (sizes per sample: the batch dimension is kept) and SpatialZeroPadding."""

import numpy as np

from ..t7.parse import T7
from ..t7.reader import Storage


def _sizes(ctx, m):
    size = m.get("size")
    if isinstance(size, Storage):
        return [int(v) for v in size.array]
    if isinstance(size, np.ndarray):
        return [int(v) for v in size.reshape(-1)]
    raise ctx.fail("corrupt-model", "has no 'size' (a LongStorage)")


@T7.register("View", "Reshape")
def view(m, ctx, x, path):
    shape = ctx.shape(x)
    per_sample = int(np.prod(shape[1:]))
    size = _sizes(ctx, m)
    if size and size[0] == -1 and len(size) > 1:  # View(-1, ...): the batch given as -1
        size = size[1:]
    if size.count(-1) > 1 or any(d == 0 or d < -1 for d in size):
        raise ctx.fail("unsupported-attribute", "sizes %s" % size)
    known = int(np.prod([d for d in size if d != -1])) if size else 1
    if -1 in size:
        size[size.index(-1)] = per_sample // known if known and per_sample % known == 0 else 0
    if int(np.prod(size)) != per_sample:
        raise ctx.fail("bad-shape", "views %d values per sample as %s" % (per_sample, size))
    out = [shape[0]] + size
    name = ctx.layer_name("Reshape")
    return ctx.node("Reshape", [x, ctx.const(name + ".shape", np.array(out, np.int64), np.int64)], name, out)


@T7.register("SpatialZeroPadding")
def zero_padding(m, ctx, x, path):
    n, c, h, w = ctx.shape(x)
    left, right, top, bottom = (int(ctx.number(m, k, 0)) for k in ("pad_l", "pad_r", "pad_t", "pad_b"))
    if min(left, right, top, bottom) < 0:
        raise ctx.fail("unsupported-attribute", "negative padding (cropping): OpenCV's importer refuses it")
    name = ctx.layer_name("Padding")
    pads = ctx.const(name + ".pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64), np.int64)
    return ctx.node("Pad", [x, pads], name, [n, c, h + top + bottom, w + left + right])

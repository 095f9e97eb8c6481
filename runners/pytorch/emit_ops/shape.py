"""Tensor shape and layout ops: Concat, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Identity,
Slice, Split, Gather, Shape, Expand, Tile, Pad, CenterCropPad, Constant."""

import numpy as np

from .. import functions
from ..codegen import EMIT, lit

_INT64_MAX = np.iinfo(np.int64).max


@EMIT.register("Constant")
def constant(node, ctx, value=None, value_float=None, value_floats=None, value_int=None, value_ints=None):
    """A Constant that canonicalization left in the graph (one the graph returns): a buffer."""
    from onnx import numpy_helper

    if value is not None:
        arr = numpy_helper.to_array(value)
    elif value_float is not None or value_floats is not None:
        arr = np.array(value_float if value_float is not None else value_floats, dtype=np.float32)
    elif value_int is not None or value_ints is not None:
        arr = np.array(value_int if value_int is not None else value_ints, dtype=np.int64)
    else:
        raise ctx.fail("Constant without a numeric value")
    ctx.consts[node.outputs[0]] = arr
    ctx.assign(node, ctx.buffer(node.outputs[0]))


@EMIT.register("Identity")
def identity(node, ctx):
    ctx.assign(node, ctx.x(node.inputs[0]))


@EMIT.register("Concat")
def concat(node, ctx, axis=0):
    ctx.assign(node, "torch.cat([%s], dim=%d)" % (", ".join(ctx.x(i) for i in node.inputs if i), axis))


@EMIT.register("Flatten")
def flatten(node, ctx, axis=1):
    x = node.inputs[0]
    if axis < 0:
        axis += ctx.need_rank(x)
    xv = ctx.x(x)
    if axis == 0:
        ctx.assign(node, "%s.reshape(1, -1)" % xv)
    elif axis == 1:
        ctx.assign(node, "torch.flatten(%s, 1)" % xv)
    else:
        ctx.assign(node, "torch.flatten(%s, %d).flatten(0, %d)" % (xv, axis, axis - 1))


@EMIT.register("Reshape")
def reshape(node, ctx, allowzero=0):
    x = node.inputs[0]
    shape = ctx.ints(node.input(1))
    xv = ctx.x(x)
    if shape is None:
        fn = ctx.function(functions.reshape)
        ctx.assign(node, "%s(%s, %s%s)" % (fn, xv, ctx.int_list(node.input(1)), ", allowzero=1" if allowzero else ""))
        return
    dims = _batch_kept(shape, ctx.static_shape(x), xv, allowzero)
    if dims is None:
        dims = []
        for i, d in enumerate(shape):
            if d == 0 and not allowzero:
                known = ctx.shape(x)
                dims.append(str(known[i]) if known and known[i] else "%s.shape[%d]" % (xv, i))
            else:
                dims.append(str(d))
    ctx.assign(node, "%s.reshape(%s)" % (xv, ", ".join(dims) if dims else "()"))


def _batch_kept(shape, known, xv, allowzero):
    """The dims of a Reshape that keeps the first axis (the batch) as it is, written so that they
    follow it: `x.reshape(-1, 4, 28, 56, 56)`, `x.reshape(x.shape[0], -1)` rather than a literal batch
    of 1 (the same values at the converted shape, and the code runs at another batch); None for a
    Reshape that changes the first axis."""
    if not shape or not known or allowzero or shape[0] != known[0] or 0 in shape[1:]:
        return None
    rest = [int(d) for d in shape[1:]]
    if rest.count(-1) == 1:
        return ["%s.shape[0]" % xv] + [str(d) for d in rest]
    if -1 not in rest and int(np.prod(rest)) == int(np.prod(known[1:])):
        return ["-1"] + [str(d) for d in rest]
    return None


@EMIT.register("Transpose")
def transpose(node, ctx, perm=None):
    x = node.inputs[0]
    if perm is None:
        perm = list(reversed(range(ctx.need_rank(x))))
    ctx.assign(node, "%s.permute(%s)" % (ctx.x(x), ", ".join(str(int(p)) for p in perm)))


@EMIT.register("Squeeze")
def squeeze(node, ctx):
    x = node.inputs[0]
    if node.input(1) is None:
        ctx.assign(node, "torch.squeeze(%s)" % ctx.x(x))
        return
    axes = ctx.ints(node.input(1))
    if axes is None:
        dim = "tuple(%s)" % ctx.int_list(node.input(1))
    else:
        dim = str(axes[0]) if len(axes) == 1 else lit(tuple(axes))
    ctx.assign(node, "torch.squeeze(%s, %s)" % (ctx.x(x), dim))


@EMIT.register("Unsqueeze")
def unsqueeze(node, ctx):
    x = node.inputs[0]
    axes = ctx.ints(node.input(1))
    if axes is None:
        ctx.assign(node, "%s(%s, %s)" % (ctx.function(functions.unsqueeze), ctx.x(x), ctx.int_list(node.input(1))))
        return
    if any(a < 0 for a in axes):
        out_rank = ctx.need_rank(x) + len(axes)
        axes = [a + out_rank if a < 0 else a for a in axes]
    expr = ctx.x(x)
    for a in sorted(axes):
        expr = "%s.unsqueeze(%d)" % (expr, a)
    ctx.assign(node, expr)


@EMIT.register("Slice")
def slice_(node, ctx):
    x = node.inputs[0]
    if any(node.input(i) and ctx.const(node.input(i)) is None for i in range(1, 5)):
        args = [ctx.x(x)] + [ctx.int_list(node.input(i)) if node.input(i) else "None" for i in range(1, 5)]
        while args[-1] == "None":
            args.pop()
        ctx.assign(node, "%s(%s)" % (ctx.function(functions.slice_axes), ", ".join(args)))
        return
    starts = ctx.ints(node.input(1))
    ends = ctx.ints(node.input(2))
    axes = ctx.ints(node.input(3)) if node.input(3) else list(range(len(starts)))
    steps = ctx.ints(node.input(4)) if node.input(4) else [1] * len(starts)
    rank = ctx.rank(x)
    if any(a < 0 for a in axes):
        rank = ctx.need_rank(x)
        axes = [a + rank if a < 0 else a for a in axes]
    nidx = max(axes) + 1
    index = [":"] * nidx
    flips = []
    for a, s, e, st in zip(axes, starts, ends, steps):
        if st == 0:
            raise ctx.fail("slice step 0")
        if st < 0:
            size = ctx.need_shape(x)[a]
            s = min(max(s + size if s < 0 else s, 0), size - 1)
            e = min(max(e + size if e < 0 else e, -1), size - 1)
            s, e, st = size - 1 - s, size - 1 - e, -st
            flips.append(a)
        text = "%s:%s" % (s if s else "", "" if e >= _INT64_MAX // 2 else e)
        if st != 1:
            text += ":%d" % st
        index[a] = text
    while index and index[-1] == ":":
        index.pop()
    expr = ctx.x(x)
    if flips:
        expr = "torch.flip(%s, %s)" % (expr, lit(flips))
    ctx.assign(node, "%s[%s]" % (expr, ", ".join(index)) if index else expr)


@EMIT.register("Split")
def split(node, ctx, axis=0, num_outputs=None):
    x = node.inputs[0]
    if node.input(1):
        sizes = ctx.ints(node.input(1))
        if sizes is None:
            sizes = ctx.int_list(node.input(1))
    else:
        n = num_outputs or len(node.outputs)
        dim = ctx.need_shape(x)[axis]
        chunk = -(-dim // n)
        sizes = [min(chunk, dim - i * chunk) for i in range(n)]
    outs = list(node.outputs)
    expr = "torch.split(%s, %s, dim=%d)" % (ctx.x(x), sizes if isinstance(sizes, str) else lit(sizes), axis)
    if len(outs) == 1:
        expr += "[0]"
    ctx.assign(node, expr)


@EMIT.register("Gather")
def gather(node, ctx, axis=0):
    x, idx_name = node.inputs
    idx = ctx.const(idx_name)
    xv = ctx.x(x)
    if axis < 0:
        axis += ctx.need_rank(x)
    prefix = ":, " * axis
    if idx is not None and idx.ndim == 0:
        ctx.assign(node, "%s[%s%d]" % (xv, prefix, int(idx)))
    elif idx is not None and idx.ndim == 1 and idx.size <= 16:
        ctx.assign(node, "%s[%s%s]" % (xv, prefix, lit(ctx.ints(idx_name))))
    else:
        ctx.assign(node, "%s[%s%s]" % (xv, prefix, ctx.x(idx_name)))


@EMIT.register("Shape")
def shape(node, ctx, start=0, end=None):
    sl = ""
    if start or end is not None:
        sl = "[%s:%s]" % (start or "", "" if end is None else end)
    ctx.assign(node, "torch.tensor(%s.shape%s, dtype=torch.int64)" % (ctx.x(node.inputs[0]), sl))


@EMIT.register("Expand")
def expand(node, ctx):
    x = node.inputs[0]
    target = ctx.ints(node.input(1))
    known = ctx.static_shape(x)
    if known is not None and target is not None:
        target = list(np.broadcast_shapes(tuple(known), tuple(target)))
        ctx.assign(node, "%s.expand(%s)" % (ctx.x(x), ", ".join(str(d) for d in target)))
    else:  # ONNX broadcasts both ways: a 1 in the target shape keeps the input's dim
        xv = ctx.x(x)
        shape = ctx.int_list(node.input(1))
        ctx.assign(node, "torch.broadcast_to(%s, torch.broadcast_shapes(%s.shape, %s))" % (xv, xv, shape))


@EMIT.register("Tile")
def tile(node, ctx):
    reps = ctx.ints(node.input(1))
    if reps is None:
        ctx.assign(node, "%s.repeat(%s)" % (ctx.x(node.inputs[0]), ctx.int_list(node.input(1))))
        return
    ctx.assign(node, "%s.repeat(%s)" % (ctx.x(node.inputs[0]), ", ".join(str(r) for r in reps)))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@EMIT.register("Pad")
def pad(node, ctx, mode="constant"):
    x = node.inputs[0]
    if mode not in _PAD_MODES:
        raise ctx.fail("pad mode %s" % mode)
    pads = ctx.ints(node.input(1))
    value = ctx.const(node.input(2)) if node.input(2) else None
    if pads is None or (node.input(2) and value is None) or (node.input(3) and ctx.const(node.input(3)) is None):
        args = [ctx.x(x), ctx.int_list(node.input(1)), repr(_PAD_MODES[mode])]
        if node.input(2):
            args.append("value=%s.item()" % ctx.x(node.input(2)))
        if node.input(3):
            args.append("axes=%s" % ctx.int_list(node.input(3)))
        ctx.assign(node, "%s(%s)" % (ctx.function(functions.pad), ", ".join(args)))
        return
    n = len(pads) // 2
    if node.input(3):
        axes = ctx.ints(node.input(3))
        rank = ctx.need_rank(x)
        axes = [a + rank if a < 0 else a for a in axes]
    else:
        axes = list(range(n))
        rank = n
    begins = dict(zip(axes, pads[:n]))
    ends = dict(zip(axes, pads[n:]))
    if rank is None:
        rank = ctx.need_rank(x)
    # F.pad lists pairs from the last dimension backwards; stop at the first unpadded leading dim
    first = min([a for a in axes if begins[a] or ends[a]] or [rank - 1])
    flat = []
    for a in range(rank - 1, first - 1, -1):
        flat += [begins.get(a, 0), ends.get(a, 0)]
    args = [ctx.x(x), lit(flat)]
    if mode != "constant":
        args.append("mode=%r" % _PAD_MODES[mode])
    elif value is not None and value.reshape(()).item() != 0:
        args.append("value=%s" % lit(value.reshape(()).item(), value.dtype))
    ctx.assign(node, "F.pad(%s)" % ", ".join(args))


@EMIT.register("CenterCropPad")
def center_crop_pad(node, ctx, axes=None):
    args = [ctx.x(node.inputs[0]), ctx.int_list(node.input(1))] + (["axes=%s" % lit(list(axes))] if axes else [])
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.center_crop_pad), ", ".join(args)))

"""Indexing ops: GatherElements, GatherND, ScatterElements, ScatterND, OneHot, TopK, Compress,
NonZero, Trilu, Unique, NonMaxSuppression, OptionalGetElement."""

import numpy as np

from .. import functions
from ..codegen import EMIT


def _long(ctx, name):
    """An index tensor as torch wants it: int64."""
    v = ctx.x(name)
    return v if ctx.dtype(name) == np.int64 else "%s.long()" % v


def _element_index(ctx, name, data, axis):
    """Indices along `axis` of `data` for torch.gather/scatter, which take no negative ones: ONNX's
    negative indices count from the end, wrapped with `%` unless the indices are known non-negative."""
    idx = ctx.const(name)
    if idx is not None and (np.asarray(idx) >= 0).all():
        return _long(ctx, name)
    return "%s %% %s.shape[%d]" % (_long(ctx, name), ctx.x(data), axis)


def _axis(ctx, name, axis):
    return axis + ctx.need_rank(name) if axis < 0 else axis


@EMIT.register("GatherElements")
def gather_elements(node, ctx, axis=0):
    data, idx = node.inputs
    axis = _axis(ctx, data, axis)
    ctx.assign(node, "torch.gather(%s, %d, %s)" % (ctx.x(data), axis, _element_index(ctx, idx, data, axis)))


_SCATTER_REDUCE = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


@EMIT.register("ScatterElements")
def scatter_elements(node, ctx, axis=0, reduction="none"):
    data, idx, updates = node.inputs
    axis = _axis(ctx, data, axis)
    index = _element_index(ctx, idx, data, axis)
    if reduction == "none":
        ctx.assign(node, "torch.scatter(%s, %d, %s, %s)" % (ctx.x(data), axis, index, ctx.x(updates)))
    elif reduction in _SCATTER_REDUCE:
        ctx.assign(node, "torch.scatter_reduce(%s, %d, %s, %s, %r)"
                   % (ctx.x(data), axis, index, ctx.x(updates), _SCATTER_REDUCE[reduction]))  # fmt: skip
    else:
        raise ctx.fail("ScatterElements reduction %r" % reduction)


@EMIT.register("GatherND")
def gather_nd(node, ctx, batch_dims=0):
    data, idx = node.inputs
    args = [ctx.x(data), _long(ctx, idx)] + (["batch_dims=%d" % batch_dims] if batch_dims else [])
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.gather_nd), ", ".join(args)))


@EMIT.register("ScatterND")
def scatter_nd(node, ctx, reduction="none"):
    data, idx, updates = node.inputs
    if reduction not in ("none", "add", "mul", "max", "min"):
        raise ctx.fail("ScatterND reduction %r" % reduction)
    args = [ctx.x(data), _long(ctx, idx), ctx.x(updates)] + ([repr(reduction)] if reduction != "none" else [])
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.scatter_nd), ", ".join(args)))


@EMIT.register("OneHot")
def one_hot(node, ctx, axis=-1):
    idx, depth, values = node.inputs
    args = [ctx.x(idx), ctx.x(depth), ctx.x(values)] + (["axis=%d" % axis] if axis != -1 else [])
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.one_hot), ", ".join(args)))


@EMIT.register("TopK")
def top_k(node, ctx, axis=-1, largest=1, sorted=1):
    """A stable sort keeps equal values in index order, as ONNX orders them (torch.topk does not say)."""
    x, k = node.inputs
    order = "descending=True, " if largest else ""
    ctx.assign(node, "[t.narrow(%d, 0, %s) for t in torch.sort(%s, dim=%d, %sstable=True)]"
               % (axis, ctx.int_scalar(k), ctx.x(x), axis, order))  # fmt: skip


@EMIT.register("Compress")
def compress(node, ctx, axis=None):
    x, cond = node.inputs
    src = ctx.x(x) if axis is not None else "torch.flatten(%s)" % ctx.x(x)
    ctx.assign(node, "%s.index_select(%d, torch.nonzero(%s).flatten())" % (src, axis or 0, ctx.x(cond)))


@EMIT.register("NonZero")
def non_zero(node, ctx):
    ctx.assign(node, "torch.nonzero(%s).t()" % ctx.x(node.inputs[0]))


@EMIT.register("Trilu")
def trilu(node, ctx, upper=1):
    k = ", %s" % ctx.int_scalar(node.input(1)) if node.input(1) else ""
    ctx.assign(node, "torch.%s(%s%s)" % ("triu" if upper else "tril", ctx.x(node.inputs[0]), k))


@EMIT.register("Unique")
def unique(node, ctx, axis=None, sorted=1):
    args = [ctx.x(node.inputs[0])] + (["axis=%d" % axis] if axis is not None else []) + ([] if sorted else ["sorted=0"])
    outputs = (list(node.outputs) + [""] * 4)[:4]
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.unique), ", ".join(args)), outputs=outputs)


@EMIT.register("NonMaxSuppression")
def non_max_suppression(node, ctx, center_point_box=0):
    args = [ctx.x(node.input(0)), ctx.x(node.input(1))]
    for i, key in ((2, "max_output_boxes_per_class"), (3, "iou_threshold"), (4, "score_threshold")):
        if node.input(i):
            args.append("%s=%s" % (key, ctx.x(node.input(i))))
    if center_point_box:
        args.append("center_point_box=1")
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.non_max_suppression), ", ".join(args)))


@EMIT.register("OptionalGetElement")
def optional_get_element(node, ctx):
    """The IR carries tensors only: the element of an optional tensor is the tensor."""
    ctx.assign(node, ctx.x(node.inputs[0]))

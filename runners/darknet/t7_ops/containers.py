"""Containers: Sequential (and the nn classes that are Sequentials: SpatialLPPooling, dpnn's
Inception decorator), Concat and DepthConcat (branches on one input, joined along a dimension;
DepthConcat centres smaller maps in zeros), ConcatTable (a Lua table of branch outputs) with the
modules that join a table: CAddTable (sum), JoinTable (concatenation); Identity."""

import numpy as np

from ..t7.parse import T7, children


def _single(ctx, x, what):
    if isinstance(x, list):
        raise ctx.fail(
            "unsupported-op",
            "%s receives a table of %d tensors" % (what, len(x)),
            hint="join the table first (nn.JoinTable, nn.CAddTable)",
        )
    return x


@T7.register("Sequential", "SpatialLPPooling", "Inception")
def sequential(m, ctx, x, path):
    for i, child in enumerate(children(m), 1):
        x = ctx.convert(child, x, "%s.%d" % (path, i))
    return x


def _branches(m, ctx, x, path):
    return [
        ctx.convert(child, _single(ctx, x, "a branch"), "%s.%d" % (path, i)) for i, child in enumerate(children(m), 1)
    ]


def _axis(ctx, m, rank):
    axis = int(ctx.number(m, "dimension")) - 1  # Lua counts from 1; OpenCV's importer takes it as is
    if not 0 < axis < rank:
        raise ctx.fail("unsupported-attribute", "joins along dimension %d of %d-d tensors" % (axis + 1, rank))
    return axis


def _concat(ctx, parts, axis, name):
    shape = ctx.shape(parts[0])
    shape[axis] = sum(ctx.shape(p)[axis] for p in parts)
    return ctx.node("Concat", parts, name, shape, axis=axis)


@T7.register("Concat")
def concat(m, ctx, x, path):
    parts = _branches(m, ctx, x, path)
    ctx.counter += 1  # OpenCV counts a split layer it does not create
    return _concat(ctx, parts, _axis(ctx, m, len(ctx.shape(parts[0]))), ctx.layer_name("torchMerge"))


@T7.register("DepthConcat")
def depth_concat(m, ctx, x, path):
    parts = _branches(m, ctx, x, path)
    name = ctx.layer_name("torchMerge")
    axis = _axis(ctx, m, len(ctx.shape(parts[0])))
    shapes = [ctx.shape(p) for p in parts]
    big = [max(s[d] for s in shapes) for d in range(len(shapes[0]))]
    padded = []
    for k, (p, s) in enumerate(zip(parts, shapes)):
        before = [0 if d == axis else (big[d] - s[d]) // 2 for d in range(len(s))]
        after = [0 if d == axis else big[d] - s[d] - before[d] for d in range(len(s))]
        if any(before) or any(after):
            pads = ctx.const("%s.pads%d" % (name, k), np.array(before + after, np.int64), np.int64)
            shape = [s[d] if d == axis else big[d] for d in range(len(s))]
            p = ctx.node("Pad", [p, pads], "%s/pad%d" % (name, k), shape)
        padded.append(p)
    return _concat(ctx, padded, axis, name)


@T7.register("ConcatTable")
def concat_table(m, ctx, x, path):
    ctx.counter += 1  # OpenCV counts a split layer it does not create
    return _branches(m, ctx, x, path)


def _table(ctx, x, what):
    if not isinstance(x, list) or len(x) < 2:
        raise ctx.fail("unsupported-op", "%s needs a table of tensors (after nn.ConcatTable)" % what)
    shapes = [ctx.shape(v) for v in x]
    return shapes


@T7.register("CAddTable")
def cadd_table(m, ctx, x, path):
    shapes = _table(ctx, x, "CAddTable")
    if any(s != shapes[0] for s in shapes):
        raise ctx.fail("bad-shape", "adds tensors of shapes %s" % shapes)
    name = ctx.layer_name("torchCAddTable")
    return ctx.node("Add" if len(x) == 2 else "Sum", x, name, shapes[0])


@T7.register("JoinTable")
def join_table(m, ctx, x, path):
    shapes = _table(ctx, x, "JoinTable")
    if m.get("nInputDims") is not None:
        raise ctx.fail(
            "unsupported-attribute",
            "nInputDims=%s: OpenCV's importer, which checks the conversion, ignores it" % m.get("nInputDims"),
        )
    return _concat(ctx, x, _axis(ctx, m, len(shapes[0])), ctx.layer_name("torchMerge"))


@T7.register("Identity")
def identity(m, ctx, x, path):
    ctx.layer_name("Identity")  # a layer in OpenCV's net: it takes a number
    return x

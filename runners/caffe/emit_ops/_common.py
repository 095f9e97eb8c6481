"""Layer patterns the converters share: Power and Eltwise, reshaping, cropping and padding a blob,
broadcasting one by Tile, picking entries along an axis."""

import numpy as np


def power(ctx, x, top, power=1.0, scale=1.0, shift=0.0, name=None):
    """(shift + scale * x) ^ power"""
    layer = ctx.layer("Power", [x], [top], name=name)
    p = layer.power_param
    p.power, p.scale, p.shift = float(power), float(scale), float(shift)
    return top


def eltwise(ctx, operation, bottoms, top, coeff=None, name=None):
    layer = ctx.layer("Eltwise", list(bottoms), [top], name=name)
    layer.eltwise_param.operation = getattr(layer.eltwise_param, operation)
    if coeff:
        layer.eltwise_param.coeff.extend(float(c) for c in coeff)
    return top


def negate(ctx, x, suffix="negated"):
    return power(ctx, x, ctx.temp(suffix), scale=-1.0)


def reshape(ctx, x, shape, top, name=None):
    layer = ctx.layer("Reshape", [x], [top], name=name)
    layer.reshape_param.shape.dim.extend(int(d) for d in shape)
    return top


def permute(ctx, x, order, top, name=None):
    layer = ctx.layer("Permute", [x], [top], name=name)
    layer.permute_param.order.extend(int(a) for a in order)
    return top


def crop(ctx, x, shape, cuts, top):
    """`x` (of `shape`) kept in [begin, stop) along each (axis, begin, stop) of `cuts`, by one Slice
    layer per axis; the parts cut away go to a Silence layer. Returns the blob holding the result:
    `top`, or `x` itself when nothing is cut."""
    cuts = [(a, b, e) for a, b, e in cuts if (b, e) != (0, shape[a])]
    if not cuts:
        return x
    dropped = []
    shape = list(shape)
    for i, (axis, begin, stop) in enumerate(cuts):
        kept = top if i == len(cuts) - 1 else ctx.temp("axis%d" % axis)
        tops = []
        if begin > 0:
            tops.append(ctx.temp("before%d" % axis))
        tops.append(kept)
        if stop < shape[axis]:
            tops.append(ctx.temp("after%d" % axis))
        layer = ctx.layer("Slice", [x], tops, name=kept)
        layer.slice_param.axis = axis
        layer.slice_param.slice_point.extend(p for p in (begin, stop) if 0 < p < shape[axis])
        dropped += [t for t in tops if t != kept]
        shape[axis] = stop - begin
        x = kept
    ctx.layer("Silence", dropped, [], name=top + "/unused")
    return top


def take(ctx, x, shape, axis, positions, top):
    """The entries `positions` of `x` along `axis`, in that order (repeats allowed): a crop when
    they are consecutive, else a Slice into single entries and a Concat."""
    positions = [int(p) for p in positions]
    first = positions[0]
    if positions == list(range(first, first + len(positions))):
        return crop(ctx, x, shape, [(axis, first, first + len(positions))], top)
    size = shape[axis]
    pieces = [ctx.temp("entry%d" % i) for i in range(size)]
    layer = ctx.layer("Slice", [x], pieces, name=top + "/entries")
    layer.slice_param.axis = axis
    layer.slice_param.slice_point.extend(range(1, size))
    unused = [pieces[i] for i in range(size) if i not in positions]
    if unused:
        ctx.layer("Silence", unused, [], name=top + "/unused")
    if len(positions) == 1:
        return pieces[positions[0]]
    layer = ctx.layer("Concat", [pieces[p] for p in positions], [top], name=top)
    layer.concat_param.axis = axis
    return top


def pad_hw(ctx, x, shape, begins, ends, top, value=0.0, mode="CONSTANT"):
    """Padding of H and W of a 4-D blob (brocolli-caffe's Pad layer)."""
    if len(shape) != 4:
        raise ctx.fail("padding a %d-D blob; Caffe's Pad layer pads H and W of 4-D blobs" % len(shape))
    layer = ctx.layer("Pad", [x], [top], name=top)
    p = layer.pad_param
    p.pad_type = getattr(p, mode)
    p.pad_u, p.pad_l, p.pad_d, p.pad_r = int(begins[0]), int(begins[1]), int(ends[0]), int(ends[1])
    p.pad_value = float(value)
    return top


def broadcast(ctx, x, shape, target):
    """`x` (of `shape`) brought to the broadcast shape `target` (numpy's rules): a Reshape to the
    target's rank, then a Tile per axis that repeats. Returns the blob."""
    full = [1] * (len(target) - len(shape)) + list(shape)
    if full != list(shape):
        x = reshape(ctx, x, full, ctx.temp("ranked"))
    for axis, (have, want) in enumerate(zip(full, target)):
        if have != want:
            layer = ctx.layer("Tile", [x], [ctx.temp("tiled%d" % axis)])
            layer.tile_param.axis, layer.tile_param.tiles = axis, int(want)
            x = layer.top[0]
    return x


def broadcast_shape(ctx, shapes):
    try:
        return list(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ctx.fail("shapes %s do not broadcast" % shapes)

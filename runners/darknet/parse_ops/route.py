"""[route] (concatenation of earlier layers; with groups/group_id, each layer's group_id-th channel
group, as yolov4-tiny splits its CSP blocks) and [shortcut] (residual sum)."""

import numpy as np

from ..parse import PARSE
from ._activation import activate


def _channel_slice(ctx, x, groups, group_id, suffix):
    n, c, h, w = ctx.shape(x)
    if c % groups:
        raise ctx.refuse("groups", "the %d channels of %s do not split into %d groups" % (c, x, groups))
    part = c // groups
    consts = [
        ctx.const(suffix + "_" + k, [v], "int64")
        for k, v in (("starts", group_id * part), ("ends", (group_id + 1) * part), ("axes", 1))
    ]
    return ctx.node("Slice", [x] + consts, [n, part, h, w], suffix)


@PARSE.register("route")
def route(s, ctx):
    if not s.has("layers"):
        raise ctx.fail("corrupt-model", "no layers=", hint="name the layers to route, e.g. layers=-1,61")
    sources = [ctx.layer_value(ref, "layers") for ref in s.ints("layers")]
    if not sources:
        raise ctx.fail("corrupt-model", "layers= names no layer", "layers")
    groups, group_id = s.int("groups", 1), s.int("group_id", 0)
    if groups <= 0 or not 0 <= group_id < groups:
        raise ctx.fail("corrupt-model", "groups=%d, group_id=%d: need 0 <= group_id < groups" % (groups, group_id))
    shapes = [ctx.shape(v) for v in sources]
    if any(len(sh) != 4 or sh[0] != shapes[0][0] or sh[2:] != shapes[0][2:] for sh in shapes):
        raise ctx.fail(
            "bad-shape",
            "the routed layers have different sizes: %s" % shapes,
            "layers",
            hint="a route concatenates channels of maps of one size",
        )
    parts = sources
    if groups > 1:
        if len(sources) > 1:
            raise ctx.refuse(
                "groups",
                "with several layers: OpenCV's importer, which checks the conversion, "
                "splits only a single routed layer",
            )
        parts = [_channel_slice(ctx, sources[0], groups, group_id, "slice")]
    if len(parts) == 1:
        ctx.finish(parts[0])
        return
    shape = list(shapes[0])
    shape[1] = sum(ctx.shape(p)[1] for p in parts)
    ctx.finish(ctx.node("Concat", parts, shape, axis=1))


@PARSE.register("shortcut")
def shortcut(s, ctx):
    if not s.has("from"):
        raise ctx.fail("corrupt-model", "no from=", hint="name the layer to add, e.g. from=-3")
    refs = s.ints("from")
    if len(refs) != 1:
        raise ctx.refuse("from", "a sum of several layers (OpenCV's importer adds one)")
    weights_type = s.text("weights_type", "none")
    if weights_type != "none":
        raise ctx.refuse("weights_type", "weighted shortcuts are not converted")
    s.text("weights_normalization")
    alpha, beta = s.float("alpha", 1.0), s.float("beta", 1.0)
    if beta != 1.0:
        raise ctx.refuse("beta", "OpenCV's importer adds the other layer with weight 1 only")
    x, other = ctx.prev(), ctx.layer_value(refs[0], "from")
    shape = ctx.shape(x)
    if ctx.shape(other) != shape:
        raise ctx.fail(
            "bad-shape",
            "adds layer output %s of shape %s to %s of shape %s; DarkNet then crops or "
            "pads channels, which is not converted" % (other, ctx.shape(other), x, shape),
            "from",
        )
    if alpha != 1.0:
        x = ctx.node("Mul", [x, ctx.const("alpha", np.float32(alpha))], shape, "scaled")
    ctx.finish(activate(ctx, ctx.node("Add", [x, other], shape, "sum")))

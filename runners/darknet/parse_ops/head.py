"""[yolo] and [region] (detection heads), [softmax], and the layers that pass their input on
([dropout], [cost]).

A detection head's output is, by default, the raw output of the convolution it reads (what a YOLO
post-processor takes); the head's keys are checked against that convolution's channels."""

from ..parse import PARSE


def _head(ctx, channels_per_anchor, anchors):
    x = ctx.prev()
    shape = ctx.shape(x)
    if len(shape) != 4 or shape[1] != anchors * channels_per_anchor:
        raise ctx.fail(
            "bad-shape",
            "reads %s with %s channels; %d anchors x %d values need %d"
            % (x, shape[1] if len(shape) > 1 else "no", anchors, channels_per_anchor, anchors * channels_per_anchor),
            hint="set filters= of the convolution before it to anchors x (classes + 5)",
        )
    ctx.heads.append(x)
    ctx.finish(x)


@PARSE.register("yolo")
def yolo(s, ctx):
    classes, num = s.int("classes", 20), s.int("num", 1)
    mask = s.ints("mask", list(range(num)))
    anchors = s.floats("anchors", [])
    if classes <= 0 or num <= 0 or len(anchors) != 2 * num or any(not 0 <= m < num for m in mask):
        raise ctx.fail(
            "corrupt-model",
            "classes=%d, num=%d, %d anchor values, mask %s: need classes > 0 and "
            "2 x num anchor values, mask indexes below num" % (classes, num, len(anchors), mask),
        )
    s.use_all()  # the other keys (scale_x_y, new_coords, thresholds) shape box decoding and training only
    _head(ctx, classes + 5, len(mask))


@PARSE.register("region")
def region(s, ctx):
    classes, num, coords = s.int("classes", 20), s.int("num", 1), s.int("coords", 4)
    anchors = s.floats("anchors", [])
    if classes <= 0 or num <= 0 or len(anchors) != 2 * num:
        raise ctx.fail(
            "corrupt-model",
            "classes=%d, num=%d, %d anchor values: need classes > 0 and 2 x num "
            "anchor values" % (classes, num, len(anchors)),
        )
    s.use_all()
    _head(ctx, classes + coords + 1, num)


@PARSE.register("softmax")
def softmax(s, ctx):
    if s.int("groups", 1) != 1:
        raise ctx.refuse("groups", "OpenCV's importer, which checks the conversion, refuses grouped softmax")
    if s.float("temperature", 1.0) != 1.0:
        raise ctx.refuse("temperature", "OpenCV's importer ignores the temperature")
    x = ctx.prev()
    shape = ctx.shape(x)
    if len(shape) == 4 and shape[2] * shape[3] != 1:
        raise ctx.fail(
            "unsupported-op",
            "softmax over a %dx%d map: DarkNet normalizes over all %d values, OpenCV per position over channels"
            % (shape[2], shape[3], shape[1] * shape[2] * shape[3]),
            hint="put [avgpool] or [connected] before the softmax",
        )
    ctx.finish(ctx.node("Softmax", [x], shape, axis=1))


@PARSE.register("dropout", "cost")
def passthrough(s, ctx):
    """The identity at inference (DarkNet scales during training)."""
    s.use_all()
    ctx.finish(ctx.prev())

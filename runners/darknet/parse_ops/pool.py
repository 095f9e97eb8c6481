"""[maxpool] and [avgpool].

DarkNet's max pooling pads `padding` (default size - 1) in total, padding // 2 before and the rest
after, and takes the maximum over the pixels inside the image: output (n + padding - size) // stride
+ 1. yolov3-tiny's `size=2 stride=1` keeps the size by padding one pixel on the right and bottom
only. [avgpool] averages each channel over the whole map."""

from ..parse import PARSE
from ._activation import required

DEFAULTS_DIFFER = "DarkNet's default is stride 1 and size = stride, OpenCV's importer takes 2 for both"


@PARSE.register("maxpool")
def maxpool(s, ctx):
    x = ctx.prev()
    n, c, h, w = ctx.shape(x)
    size = required(ctx, "size", DEFAULTS_DIFFER)
    stride = required(ctx, "stride", DEFAULTS_DIFFER)
    padding = s.int("padding", size - 1)
    if size <= 0 or stride <= 0 or padding < 0:
        raise ctx.fail("corrupt-model", "size and stride must be positive, padding not negative")
    before, after = padding // 2, padding - padding // 2
    out = [n, c, (h + padding - size) // stride + 1, (w + padding - size) // stride + 1]
    if out[2] <= 0 or out[3] <= 0 or before >= size:
        raise ctx.fail(
            "bad-shape", "a %dx%d window with padding %d does not fit the %dx%d input" % (size, size, padding, h, w)
        )
    y = ctx.node(
        "MaxPool", [x], out, kernel_shape=[size, size], strides=[stride, stride], pads=[before, before, after, after]
    )
    ctx.finish(y)


@PARSE.register("avgpool")
def avgpool(s, ctx):
    x = ctx.prev()
    shape = ctx.shape(x)
    if len(shape) != 4:
        raise ctx.fail("bad-shape", "averages a feature map, its input is %s" % shape)
    ctx.finish(ctx.node("GlobalAveragePool", [x], shape[:2] + [1, 1]))

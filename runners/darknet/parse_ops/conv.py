"""[convolutional] and [connected]: weights in DarkNet's order (biases, then scales, rolling mean and
rolling variance when batch_normalize=1, then the kernel), batch normalization as its own node with
OpenCV's epsilon 1e-6 (DarkNet adds 1e-6 or 1e-5 depending on the fork; the check runs OpenCV)."""

from ..parse import PARSE
from ._activation import activate, required

DEFAULTS_DIFFER = "DarkNet's default is 1, OpenCV's importer has none"


def _read_batch_norm(ctx, filters, biases):
    """[scale, bias, mean, var] constants, read in DarkNet's order (the biases came first)."""
    scales = ctx.take([filters], "batch-norm scales")
    mean = ctx.take([filters], "rolling mean")
    var = ctx.take([filters], "rolling variance")
    return [ctx.const("scale", scales), ctx.const("bias", biases), ctx.const("mean", mean), ctx.const("var", var)]


@PARSE.register("convolutional")
def convolutional(s, ctx):
    x = ctx.prev()
    n, c, h, w = ctx.shape(x)
    filters = required(ctx, "filters", DEFAULTS_DIFFER)
    size = required(ctx, "size", DEFAULTS_DIFFER)
    stride = s.int("stride", 1)
    padding = size // 2 if s.int("pad", 0) else s.int("padding", 0)
    s.used.add("padding")
    groups = s.int("groups", 1)
    bn = s.int("batch_normalize", 0)
    if filters <= 0 or size <= 0 or stride <= 0 or groups <= 0 or padding < 0:
        raise ctx.fail("corrupt-model", "filters, size, stride and groups must be positive, padding not negative")
    if c % groups or filters % groups:
        raise ctx.refuse("groups", "%d input channels and %d filters are not multiples of it" % (c, filters))
    out = [n, filters, (h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1]
    if out[2] <= 0 or out[3] <= 0:
        raise ctx.fail("bad-shape", "a %dx%d kernel does not fit the %dx%d input" % (size, size, h, w))
    biases = ctx.take([filters], "biases")
    norm = _read_batch_norm(ctx, filters, biases) if bn else None
    kernel = ctx.take([filters, c // groups, size, size], "kernel")
    inputs = [x, ctx.const("weight", kernel)] + ([] if bn else [ctx.const("bias", biases)])
    y = ctx.node(
        "Conv",
        inputs,
        out,
        "conv",
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[padding] * 4,
        group=groups,
    )
    if norm is not None:
        y = ctx.node("BatchNormalization", [y] + norm, out, "bn", epsilon=1e-6)
    ctx.finish(activate(ctx, y))


@PARSE.register("connected")
def connected(s, ctx):
    x = ctx.prev()
    shape = ctx.shape(x)
    outputs = required(ctx, "output", "DarkNet's default is 1, OpenCV's too, but no trained net means it")
    if s.int("batch_normalize", 0):
        raise ctx.refuse(
            "batch_normalize",
            "DarkNet stores a [connected] layer's normalization after its weights, OpenCV's importer reads it "
            "before them, so the conversion could not be checked",
        )
    inputs = 1
    for d in shape[1:]:
        inputs *= d
    biases = ctx.take([outputs], "biases")
    weight = ctx.take([outputs, inputs], "weights")
    flat = x if len(shape) == 2 else ctx.node("Flatten", [x], [shape[0], inputs], "flat", axis=1)
    y = ctx.node(
        "Gemm", [flat, ctx.const("weight", weight), ctx.const("bias", biases)], [shape[0], outputs], "fc", transB=1
    )
    ctx.finish(activate(ctx, y))

"""MaxPool, AveragePool, global pooling -> Pooling. Caffe pools 2-D windows, counts padding in
averages and rounds the output size up (or down with `ceil_mode: false`); the IR's output size
must come out the same, else the node is refused."""

from ..emit import EMIT
from ..ops.pool import output_size
from ._common import no_auto_pad


def _pooling(node, ctx, method, kernel_shape, strides, pads, ceil_mode, include_pad, x=None, top=None):
    shape = ctx.static_shape(node.inputs[0])
    out = ctx.static_shape(node.outputs[0])
    if len(shape) != 4:
        raise ctx.fail("%d-D pooling; Caffe pools 2-D windows" % (len(shape) - 2))
    strides = list(strides or [1, 1])
    pads = list(pads or [0] * 4)
    begin, end = pads[:2], pads[2:]
    geometry = list(zip(shape[2:], kernel_shape, strides, begin, end, out[2:]))
    for mode in (bool(ceil_mode), not ceil_mode):
        if any(output_size(i, k, s, b, mode) != o for i, k, s, b, _, o in geometry):
            continue
        # how far the last window reaches past the image: average divisors must clip alike
        reach = [(o - 1) * s + k - b - i for i, k, s, b, _, o in geometry]
        ends = [(b, e) for _, _, _, b, e, _ in geometry]
        if method == "AVE" and include_pad and any(min(r, e) != min(r, b) for r, (b, e) in zip(reach, ends)):
            break
        layer = ctx.layer("Pooling", [x or ctx.blob(node.inputs[0])], [top or node.outputs[0]])
        p = layer.pooling_param
        p.pool = getattr(p, method)
        p.kernel_h, p.kernel_w = kernel_shape
        p.stride_h, p.stride_w = strides
        p.pad_h, p.pad_w = begin
        p.ceil_mode = mode
        return
    raise ctx.fail(
        "pooling with pads %s, kernel %s, strides %s on %s gives %s (divisors as the IR counts them); "
        "no Caffe pooling gives that" % (pads, kernel_shape, strides, shape[2:], out[2:])
    )


@EMIT.register("MaxPool")
def max_pool(node, ctx, kernel_shape=None, strides=None, pads=None, ceil_mode=0, auto_pad="NOTSET",
             dilations=None, storage_order=0):  # fmt: skip
    no_auto_pad(ctx, auto_pad)
    if any(d != 1 for d in dilations or []):
        raise ctx.fail("dilated pooling")
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool indices output")
    _pooling(node, ctx, "MAX", kernel_shape, strides, pads, ceil_mode, True)


@EMIT.register("AveragePool")
def average_pool(node, ctx, kernel_shape=None, strides=None, pads=None, ceil_mode=0, auto_pad="NOTSET",
                 count_include_pad=0, dilations=None):  # fmt: skip
    no_auto_pad(ctx, auto_pad)
    if any(d != 1 for d in dilations or []):
        raise ctx.fail("dilated pooling")
    if count_include_pad or not any((pads or [0] * 4)[:2]):
        _pooling(node, ctx, "AVE", kernel_shape, strides, pads, ceil_mode, bool(count_include_pad))
        return
    # Caffe counts padding in the divisor; the IR does not. Exact rewrite: the same pooling of the
    # input and of ones (Power scale 0 shift 1) has the same divisor, so their ratio divides the
    # window sum by the number of real cells.
    x = ctx.blob(node.inputs[0])
    ones, sums, share, inverse = (ctx.temp(s) for s in ("ones", "mean_with_pads", "real_share", "inverse_share"))
    layer = ctx.layer("Power", [x], [ones], name=node.name + "/ones")
    layer.power_param.scale, layer.power_param.shift = 0.0, 1.0
    _pooling(node, ctx, "AVE", kernel_shape, strides, pads, ceil_mode, False, x, sums)
    _pooling(node, ctx, "AVE", kernel_shape, strides, pads, ceil_mode, False, ones, share)
    layer = ctx.layer("Power", [share], [inverse], name=node.name + "/inverse")
    layer.power_param.power = -1.0
    layer = ctx.layer("Eltwise", [sums, inverse], [node.outputs[0]], name=node.name + "/ratio")
    layer.eltwise_param.operation = layer.eltwise_param.PROD


def _global(method):
    def convert(node, ctx):
        if len(ctx.static_shape(node.inputs[0])) != 4:
            raise ctx.fail("global pooling of a tensor that is not NCHW")
        layer = ctx.layer("Pooling", [ctx.blob(node.inputs[0])], [node.outputs[0]])
        layer.pooling_param.pool = getattr(layer.pooling_param, method)
        layer.pooling_param.global_pooling = True

    return convert


EMIT.register("GlobalMaxPool")(_global("MAX"))
EMIT.register("GlobalAveragePool")(_global("AVE"))


@EMIT.register("ReduceMean")
def reduce_mean(node, ctx, axes=None, keepdims=1, noop_with_empty_axes=0):
    """The mean over H and W is global average pooling (then a Flatten without keepdims)."""
    shape = ctx.static_shape(node.inputs[0])
    if axes is None and node.input(1):
        axes = ctx.const(node.input(1))
    axes = sorted(int(a) % len(shape) for a in (axes if axes is not None else []))
    if len(shape) != 4 or axes != [2, 3]:
        raise ctx.fail("a mean over axes %s of a %d-D tensor; Caffe averages H and W only" % (axes, len(shape)))
    pooled = node.outputs[0] if keepdims else ctx.temp("pooled")
    layer = ctx.layer("Pooling", [ctx.blob(node.inputs[0])], [pooled])
    layer.pooling_param.pool = layer.pooling_param.AVE
    layer.pooling_param.global_pooling = True
    if not keepdims:
        ctx.layer("Flatten", [pooled], [node.outputs[0]], name=node.name + "/flatten")

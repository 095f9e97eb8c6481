"""MaxPool, AveragePool, LpPool and global pooling -> Pooling (geometry from runners/common/specs.py).

Caffe pools 2-D windows (1-D pooling is pooled as N x C x L x 1), pads both sides of an axis alike,
rounds the output size up or down, drops a last window that starts in the padding, and divides an
average by the window clipped to the padded image. A node is converted when some Caffe pooling
gives exactly the IR's output size and divisors, else its pads go to a Pad layer first, else it is
refused. Averages that leave the padding out are rewritten by the broker before they get here
(LACKS AveragePool.exclude_pad)."""

import numpy as np

from runners.common.specs import PoolSpec

from ..emit import EMIT
from ._common import pad_hw, power, reshape

LOWEST = float(np.finfo(np.float32).min)  # what max pooling pads with: no real value is below it


def _caffe_axis(size, k, s, p, ceil_mode):
    """Caffe's output size and average divisors along one axis."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if p and (out - 1) * s >= size + p:
        out -= 1
    starts = np.arange(out) * s - p
    return out, np.minimum(starts + k, size + p) - starts


def _ir_divisors(size, k, s, b, e, out, include):
    starts = np.arange(out) * s - b
    stops = np.minimum(starts + k, size + e)
    if not include:
        starts, stops = np.maximum(starts, 0), np.minimum(stops, size)
    return stops - starts


class _Geometry(object):
    """A pooling window over the H and W of a 4-D blob (a 1-D one gets a unit W)."""

    def __init__(self, spec, in_spatial, out_spatial):
        unit = 2 - spec.n
        self.kernel = spec.kernel + [1] * unit
        self.strides = spec.strides + [1] * unit
        self.begins = spec.begins + [0] * unit
        self.ends = spec.ends + [0] * unit
        self.spatial = in_spatial + [1] * unit
        self.out = out_spatial + [1] * unit
        self.ceil_mode = spec.ceil_mode
        self.include = getattr(spec, "count_include_pad", True)

    def caffe_form(self, method, begins=None, ends=None, spatial=None):
        """(pads, ceil_mode) of the Caffe pooling that computes this window, or None."""
        begins, ends, spatial = begins or self.begins, ends or self.ends, spatial or self.spatial
        for ceil_mode in (self.ceil_mode, not self.ceil_mode):
            ok = True
            for i in range(2):
                if begins[i] >= self.kernel[i] and begins[i]:
                    return None  # Caffe pads less than the kernel
                out, divisors = _caffe_axis(spatial[i], self.kernel[i], self.strides[i], begins[i], ceil_mode)
                if out != self.out[i]:
                    ok = False
                elif method == "AVE":
                    want = _ir_divisors(spatial[i], self.kernel[i], self.strides[i], begins[i], ends[i], out,
                                        self.include)  # fmt: skip
                    ok = ok and np.array_equal(divisors, want)
            if ok:
                return begins, ceil_mode
        return None

    def full_windows(self):
        """Every window lies inside the padded input (a sum is the average times the kernel size)."""
        for i in range(2):
            divisors = _ir_divisors(self.spatial[i], self.kernel[i], self.strides[i], self.begins[i], self.ends[i],
                                    self.out[i], True)  # fmt: skip
            if np.any(divisors != self.kernel[i]):
                return False
        return True


def _pooling(ctx, method, x, top, geo, pads, ceil_mode):
    layer = ctx.layer("Pooling", [x], [top])
    p = layer.pooling_param
    p.pool = getattr(p, method)
    p.kernel_h, p.kernel_w = geo.kernel
    p.stride_h, p.stride_w = geo.strides
    p.pad_h, p.pad_w = pads
    p.ceil_mode = ceil_mode
    return top


def _pool(node, ctx, method, spec, x=None, top=None):
    """Pool `x` (default the node's input) into `top` (default its output); returns the Caffe
    pads and ceil mode used."""
    shape = ctx.need_shape(node.inputs[0])
    if spec.n not in (1, 2):
        raise ctx.fail("%d-D pooling; Caffe pools 2-D windows" % spec.n)
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("dilated pooling; Caffe's windows are dense")
    out_shape = ctx.need_shape(node.outputs[0])
    geo = _Geometry(spec, shape[2:], out_shape[2:])
    x = x or ctx.blob(node.inputs[0])
    top = top or node.outputs[0]
    flat = shape[:2] + geo.spatial
    if spec.n == 1:
        x = reshape(ctx, x, flat, ctx.temp("as_2d"))
    final, top = top, (top if spec.n == 2 else ctx.temp("pooled_2d"))
    form = geo.caffe_form(method)
    if form is None:  # the pads in a Pad layer, the pooling without
        padded_size = [s + b + e for s, b, e in zip(geo.spatial, geo.begins, geo.ends)]
        form = geo.caffe_form(method, [0, 0], [0, 0], padded_size)
        if form is None:
            raise ctx.fail(
                "pooling with pads %s, kernel %s, strides %s%s on %s gives %s; no Caffe pooling gives that"
                % (spec.pads(), spec.kernel, spec.strides, " (ceil_mode)" if spec.ceil_mode else "", shape[2:],
                   out_shape[2:])
            )  # fmt: skip
        x = pad_hw(ctx, x, flat, geo.begins, geo.ends, ctx.temp("padded"), LOWEST if method == "MAX" else 0.0)
    _pooling(ctx, method, x, top, geo, *form)
    if spec.n == 1:
        reshape(ctx, top, out_shape, final)
    return geo, form


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
             storage_order=0, strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool's indices output; Caffe's Pooling has no such top in inference")
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    _pool(node, ctx, "MAX", spec)


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None,
                 kernel_shape=None, pads=None, strides=None):  # fmt: skip
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode,
                            count_include_pad)  # fmt: skip
    if spec.excludes_padding:
        raise ctx.fail("average pooling that leaves the padding out; Caffe counts it (the broker rewrites this form)")
    _pool(node, ctx, "AVE", spec)


@EMIT.register("LpPool")
def lp_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, p=2, pads=None,
            strides=None):  # fmt: skip
    """(sum of |x|^p over the window)^(1/p), p 1 or 2: an average pooling of |x| or x^2 times the
    window size, where every window spans the whole kernel."""
    if p not in (1, 2):
        raise ctx.fail("LpPool with p=%d; Caffe has sums of |x| and x^2 only" % p)
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, 1, p)
    x = ctx.blob(node.inputs[0])
    if p == 1:
        x = ctx.layer("AbsVal", [x], [ctx.temp("abs")]).top[0]
    else:
        x = power(ctx, x, ctx.temp("squares"), power=2.0)
    pooled = ctx.temp("mean")
    geo, _ = _pool(node, ctx, "AVE", spec, x, pooled)
    if not geo.full_windows():
        raise ctx.fail("LpPool whose windows reach past the padded input; Caffe's average divides those by less")
    size = float(np.prod(spec.kernel))
    power(ctx, pooled, node.outputs[0], power=1.0 / p, scale=size)


def _global(method):
    def convert(node, ctx):
        if ctx.need_rank(node.inputs[0]) != 4:
            raise ctx.fail("global pooling of a tensor that is not NCHW")
        layer = ctx.layer("Pooling", [ctx.blob(node.inputs[0])], [node.outputs[0]])
        layer.pooling_param.pool = getattr(layer.pooling_param, method)
        layer.pooling_param.global_pooling = True

    return convert


EMIT.register("GlobalMaxPool")(_global("MAX"))
EMIT.register("GlobalAveragePool")(_global("AVE"))


@EMIT.register("GlobalLpPool")
def global_lp_pool(node, ctx, p=2):
    if p not in (1, 2):
        raise ctx.fail("GlobalLpPool with p=%d; Caffe has sums of |x| and x^2 only" % p)
    shape = ctx.need_shape(node.inputs[0])
    layer = ctx.layer("Reduction", [ctx.blob(node.inputs[0])], [ctx.temp("sum")])
    p_ = layer.reduction_param
    p_.operation, p_.axis = (p_.SUMSQ if p == 2 else p_.ASUM), 2
    x = layer.top[0]
    if p == 2:
        x = power(ctx, x, ctx.temp("root"), power=0.5)
    reshape(ctx, x, shape[:2] + [1] * (len(shape) - 2), node.outputs[0])

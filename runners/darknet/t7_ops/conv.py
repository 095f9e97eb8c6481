"""SpatialConvolution (weights nOutputPlane x nInputPlane x kH x kW; SpatialConvolutionMM keeps them
as a matrix) and Linear (weight out x in)."""

from ..t7.parse import T7


def kernel_params(ctx, m):
    """(kernel, strides, pads) of a spatial module: kH/kW, dH/dW (default 1), padH/padW (default 0)."""
    n = lambda k, d=None: int(ctx.number(m, k, d))  # noqa: E731
    return [n("kH"), n("kW")], [n("dH", 1), n("dW", 1)], [n("padH", 0), n("padW", 0)]


@T7.register("SpatialConvolution", "SpatialConvolutionMM")
def spatial_convolution(m, ctx, x, path):
    n, c, h, w = ctx.shape(x)
    (kh, kw), strides, (ph, pw) = kernel_params(ctx, m)
    cout, cin = int(ctx.number(m, "nOutputPlane")), int(ctx.number(m, "nInputPlane", c))
    groups = int(ctx.number(m, "groups", 1))
    if cin != c or c % groups:
        raise ctx.fail("bad-shape", "takes %d planes in %d groups; its input has %d" % (cin, groups, c))
    name = ctx.layer_name("Convolution")
    weight = ctx.tensor(m, "weight", [cout, c // groups, kh, kw])
    bias = ctx.tensor(m, "bias", [cout], required=False)
    inputs = [x, ctx.const(name + ".weight", weight)] + ([ctx.const(name + ".bias", bias)] if bias is not None else [])
    out = [n, cout, (h + 2 * ph - kh) // strides[0] + 1, (w + 2 * pw - kw) // strides[1] + 1]
    return ctx.node(
        "Conv", inputs, name, out, kernel_shape=[kh, kw], strides=strides, pads=[ph, pw, ph, pw], group=groups
    )


@T7.register("Linear")
def linear(m, ctx, x, path):
    shape = ctx.shape(x)
    name = ctx.layer_name("InnerProduct")
    weight = ctx.tensor(m, "weight")
    if weight.ndim != 2:
        raise ctx.fail("corrupt-model", "weight of shape %s" % list(weight.shape))
    features = 1
    for d in shape[1:]:
        features *= d
    if weight.shape[1] != features:
        raise ctx.fail("bad-shape", "takes %d features; its input %s has %d" % (weight.shape[1], shape, features))
    bias = ctx.tensor(m, "bias", [weight.shape[0]], required=False)
    if len(shape) != 2:  # OpenCV's InnerProduct flattens from axis 1
        x = ctx.node("Flatten", [x], name + "/flat", [shape[0], features], axis=1)
    inputs = [x, ctx.const(name + ".weight", weight)] + ([ctx.const(name + ".bias", bias)] if bias is not None else [])
    return ctx.node("Gemm", inputs, name, [shape[0], weight.shape[0]], transB=1)

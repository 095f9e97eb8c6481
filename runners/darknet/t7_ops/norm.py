"""SpatialBatchNormalization / BatchNormalization (running_var, or running_std of older Torch
versions: var = 1 / std^2 - eps; affine=false has no weight and bias), Normalize (L_p over the
features: x / (sum |x|^p + eps)^(1/p)), SpatialCrossMapLRN."""

import numpy as np

from ..t7.parse import T7


@T7.register("SpatialBatchNormalization", "BatchNormalization")
def batch_normalization(m, ctx, x, path):
    shape = ctx.shape(x)
    c = shape[1]
    eps = float(ctx.number(m, "eps", 1e-5))
    name = ctx.layer_name("BatchNorm")
    mean = ctx.tensor(m, "running_mean", [c])
    var = ctx.tensor(m, "running_var", [c], required=False)
    if var is None:
        std = ctx.tensor(m, "running_std", [c])
        var = 1.0 / np.square(std) - eps
    weight = ctx.tensor(m, "weight", [c], required=False)
    bias = ctx.tensor(m, "bias", [c], required=False)
    weight = np.ones(c, np.float32) if weight is None else weight
    bias = np.zeros(c, np.float32) if bias is None else bias
    params = [
        ctx.const(name + "." + k, v) for k, v in (("scale", weight), ("bias", bias), ("mean", mean), ("var", var))
    ]
    return ctx.node("BatchNormalization", [x] + params, name, shape, epsilon=eps)


@T7.register("Normalize")
def normalize(m, ctx, x, path):
    shape = ctx.shape(x)
    if len(shape) != 2:
        raise ctx.fail("bad-shape", "normalizes %d-d input; Torch's Normalize takes N x features" % len(shape))
    p, eps = float(ctx.number(m, "p")), float(ctx.number(m, "eps", 1e-10))
    if p <= 0 or np.isinf(p):
        raise ctx.fail("unsupported-attribute", "p=%s (converted: finite p > 0)" % p)
    name = ctx.layer_name("Normalize")
    norm_shape = [shape[0], 1]
    if p == 2:
        powered = ctx.node("Mul", [x, x], name + "/square", shape)
    else:
        magnitude = ctx.node("Abs", [x], name + "/abs", shape)
        powered = ctx.node("Pow", [magnitude, ctx.const(name + ".p", np.float32(p))], name + "/pow", shape)
    axes = ctx.const(name + ".axes", np.array([1], np.int64), np.int64)
    total = ctx.node("ReduceSum", [powered, axes], name + "/sum", norm_shape, keepdims=1)
    total = ctx.node("Add", [total, ctx.const(name + ".eps", np.float32(eps))], name + "/eps", norm_shape)
    if p == 2:
        norm = ctx.node("Sqrt", [total], name + "/norm", norm_shape)
    else:
        norm = ctx.node("Pow", [total, ctx.const(name + ".inv_p", np.float32(1.0 / p))], name + "/norm", norm_shape)
    return ctx.node("Div", [x, norm], name, shape)


@T7.register("SpatialCrossMapLRN")
def cross_map_lrn(m, ctx, x, path):
    size = int(ctx.number(m, "size"))
    return ctx.node(
        "LRN",
        [x],
        ctx.layer_name("LRN"),
        ctx.shape(x),
        size=size,
        alpha=float(ctx.number(m, "alpha")),
        beta=float(ctx.number(m, "beta")),
        bias=float(ctx.number(m, "k", 1.0)),
    )

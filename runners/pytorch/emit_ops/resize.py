"""Resize: nn.Upsample where torch's interpolation samples ONNX's grid; otherwise each resized axis
as its interpolation matrix (from the ResizeSpec), or, for scales, sizes or roi computed at run
time, tf_crop_and_resize and keep_aspect_ratio_policy, the generated file's `resize` function."""

import numpy as np

from runners.common.specs import ResizeSpec

from .. import functions
from ..codegen import EMIT, lit

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _torch_mode(spec, n):
    """(torch mode, align_corners) sampling the grid ONNX's mode and coordinates define, or None."""
    if spec.antialias or n not in (1, 2, 3) or not spec.spatial_only():
        return None
    if spec.mode == "nearest":
        if (spec.ctm, spec.nearest_mode) == ("asymmetric", "floor"):
            return "nearest", None
        if spec.ctm in ("half_pixel", "pytorch_half_pixel") and spec.nearest_mode == "round_prefer_ceil":
            return "nearest-exact", None
        return None
    if spec.mode == "cubic" and (n != 2 or abs(spec.cubic_coeff_a + 0.75) > 1e-6 or spec.exclude_outside):
        return None
    if spec.ctm == "half_pixel" or (spec.ctm == "pytorch_half_pixel" and all(o > 1 for o in spec.out_shape[2:])):
        align = False
    elif spec.ctm == "align_corners" and all(
        abs(s * i - o) <= 1e-9 * o for s, i, o in zip(spec.scales, spec.in_shape, spec.out_shape)
    ):
        align = True  # ONNX maps corners by the scale's output width, torch by the size: equal when whole
    else:
        return None
    return (_LINEAR[n] if spec.mode == "linear" else "bicubic"), align


@EMIT.register("Resize")
def resize(node, ctx, mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
           cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0, antialias=0, axes=None,
           keep_aspect_ratio_policy="stretch"):  # fmt: skip
    if mode not in ("nearest", "linear", "cubic"):
        raise ctx.fail("resize mode %s" % mode)
    attrs = dict(mode=mode, coordinate_transformation_mode=coordinate_transformation_mode, nearest_mode=nearest_mode,
                 cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside, antialias=antialias)  # fmt: skip
    computed = any(node.input(i) and ctx.const(node.input(i)) is None for i in (1, 2, 3))
    if computed or coordinate_transformation_mode == "tf_crop_and_resize" or keep_aspect_ratio_policy != "stretch":
        _resize_function(node, ctx, axes, extrapolation_value, keep_aspect_ratio_policy, attrs)
        return
    spec = ResizeSpec.of(ctx, node, axes=axes, extrapolation_value=extrapolation_value,
                         keep_aspect_ratio_policy=keep_aspect_ratio_policy, **attrs)  # fmt: skip
    torch_mode = _torch_mode(spec, spec.rank - 2)
    if torch_mode is None:
        _resize_matrices(node, ctx, spec)
        return
    tmode, align = torch_mode
    if spec.from_sizes:
        arg = "size=%s" % lit(tuple(int(v) for v in spec.out_shape[2:]))
    else:
        spatial = [np.float32(v) for v in spec.scales[2:]]
        arg = "scale_factor=%s" % (lit(spatial[0]) if len(set(spatial)) == 1 else lit(tuple(spatial)))
    opts = ", mode=%r" % tmode
    if align is not None:
        opts += ", align_corners=%s" % align
    mod = ctx.module(node, "nn.Upsample(%s%s)" % (arg, opts))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])))


def _resize_matrices(node, ctx, spec):
    """x with each resized axis multiplied by its (input, output) interpolation matrix: one einsum."""
    x = node.inputs[0]
    axes = spec.resized_axes()
    if any(not spec.in_shape[a] or not spec.out_shape[a] for a in axes):
        raise ctx.fail("resizing an axis of unknown size", "missing-input-shape")
    letters = "abcdefghijklmnopqrstuvwxyz"[: spec.rank]
    out = list(letters)
    operands, terms = [ctx.x(x)], [letters]
    dtype = ctx.dtype(x) if ctx.dtype(x) is not None and np.issubdtype(ctx.dtype(x), np.floating) else np.float32
    for a in axes:
        name = "%s_resize_axis%d" % (node.outputs[0], a)
        ctx.consts[name] = spec.axis_weights(a).astype(dtype)
        operands.append(ctx.buffer(name))
        terms.append(letters[a] + letters[a].upper())
        out[a] = letters[a].upper()
    ctx.assign(node, "torch.einsum(%r, %s)" % (",".join(terms) + "->" + "".join(out), ", ".join(operands)))


def _resize_function(node, ctx, axes, extrapolation_value, keep_aspect_ratio_policy, attrs):
    args = [ctx.x(node.inputs[0])]
    for i, key in ((1, "roi"), (2, "scales"), (3, "sizes")):
        name = node.input(i)
        if not name:
            continue
        c = ctx.const(name)
        if c is None:
            args.append("%s=%s.tolist()" % (key, ctx.x(name)))
        elif c.size:
            args.append("%s=%s" % (key, lit([v.item() for v in c.reshape(-1)])))
    if axes is not None:
        args.append("axes=%s" % lit([int(a) for a in axes]))
    defaults = dict(mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
                    cubic_coeff_a=-0.75, exclude_outside=0, antialias=0)  # fmt: skip
    for key, value in attrs.items():
        if value != defaults[key]:
            args.append("%s=%s" % (key, lit(value)))
    if extrapolation_value != 0.0:
        args.append("extrapolation_value=%s" % lit(extrapolation_value))
    if keep_aspect_ratio_policy != "stretch":
        args.append("keep_aspect_ratio_policy=%r" % keep_aspect_ratio_policy)
    fn = ctx.function(functions.resize)
    ctx.function(functions.resize_weights)
    ctx.assign(node, "%s(%s)" % (fn, ", ".join(args)))

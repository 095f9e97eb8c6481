"""Ops that make tensors: Range, EyeLike, ConstantOfShape, HannWindow, HammingWindow, BlackmanWindow."""

import numpy as np

from ..codegen import EMIT, lit, torch_dtype


def _onnx_dtype(ctx, onnx_type, default):
    from onnx import helper

    if onnx_type is None:
        return default
    try:
        return torch_dtype(helper.tensor_dtype_to_np_dtype(onnx_type))
    except (KeyError, TypeError, ValueError):
        raise ctx.fail("ONNX type %d has no torch dtype" % onnx_type)


def _scalar(ctx, name):
    """A Python number for a one-element IR value: a literal for a constant, `.item()` otherwise."""
    c = ctx.const(name)
    if c is not None:
        return lit(np.asarray(c).reshape(()).item(), c.dtype)
    return "%s.item()" % ctx.x(name)


@EMIT.register("Range")
def range_(node, ctx):
    start, limit, delta = node.inputs
    dtype = torch_dtype(ctx.dtype(start))
    args = (_scalar(ctx, start), _scalar(ctx, limit), _scalar(ctx, delta), dtype)
    ctx.assign(node, "torch.arange(%s, %s, %s, dtype=%s)" % args)


@EMIT.register("EyeLike")
def eye_like(node, ctx, dtype=None, k=0):
    x = node.inputs[0]
    dt = _onnx_dtype(ctx, dtype, torch_dtype(ctx.dtype(x)))
    ones = "torch.ones(%s.shape, dtype=%s)" % (ctx.x(x), dt)
    ctx.assign(node, "%s.triu(%d).tril(%d)" % (ones, k, k) if k else "torch.eye(*%s.shape, dtype=%s)" % (ctx.x(x), dt))


@EMIT.register("ConstantOfShape")
def constant_of_shape(node, ctx, value=None):
    from onnx import numpy_helper

    arr = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    fill = lit(arr.reshape(-1)[0].item(), arr.dtype)
    ctx.assign(node, "torch.full(%s, %s, dtype=%s)" % (ctx.int_list(node.input(0)), fill, torch_dtype(arr.dtype)))


def _window(fn, extra=""):
    def convert(node, ctx, output_datatype=1, periodic=1):
        dt = _onnx_dtype(ctx, output_datatype, "torch.float32")
        ctx.assign(node, "torch.%s(%s, periodic=%s%s, dtype=%s)"
                   % (fn, ctx.int_scalar(node.input(0)), bool(periodic), extra, dt))  # fmt: skip

    return convert


EMIT.register("HannWindow")(_window("hann_window"))
EMIT.register("BlackmanWindow")(_window("blackman_window"))
# ONNX's Hamming window: alpha 25/46, beta 21/46 (torch defaults to 0.54, 0.46)
EMIT.register("HammingWindow")(_window("hamming_window", ", alpha=%r, beta=%r" % (25 / 46, 21 / 46)))

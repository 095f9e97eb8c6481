"""MIL log, inverse, rsqrt (with their epsilons), thresholded_relu, prelu, select, cast -> IR nodes."""

import numpy as np

from ..common import FROM_MIL

CAST = {"fp32": 1, "fp16": 10, "int32": 6, "bool": 9, "int64": 7}


def _with_epsilon(op, ctx, onnx_ops):
    """onnx_ops applied in turn to x + epsilon (no Add when epsilon is 0)."""
    out = ctx.out(op)
    x = ctx.input(op, "x")
    eps = ctx.val(op, "epsilon")
    if eps is not None and float(eps) != 0.0:
        x = ctx.node("Add", [x, ctx.const(out + "__epsilon", np.array(eps, np.float32))], [out + "__shifted"])
    for i, onnx_op in enumerate(onnx_ops):
        x = ctx.node(onnx_op, [x], [out if i == len(onnx_ops) - 1 else "%s__%d" % (out, i)])


@FROM_MIL.register("log")
def log(op, ctx):
    if ctx.val(op, "epsilon") is None:
        op_eps = 1e-45  # MIL's default
        out = ctx.out(op)
        shifted = ctx.node(
            "Add", [ctx.input(op, "x"), ctx.const(out + "__epsilon", np.array(op_eps, np.float32))], [out + "__shifted"]
        )
        ctx.node("Log", [shifted], [out])
        return
    _with_epsilon(op, ctx, ["Log"])


@FROM_MIL.register("inverse")
def inverse(op, ctx):
    if ctx.val(op, "epsilon") is None:
        raise ctx.fail("inverse with MIL's default epsilon is not translated")
    _with_epsilon(op, ctx, ["Reciprocal"])


@FROM_MIL.register("rsqrt")
def rsqrt(op, ctx):
    if ctx.val(op, "epsilon") is None:
        raise ctx.fail("rsqrt with MIL's default epsilon is not translated")
    _with_epsilon(op, ctx, ["Sqrt", "Reciprocal"])


@FROM_MIL.register("thresholded_relu")
def thresholded_relu(op, ctx):
    """MIL keeps x >= alpha, ONNX's ThresholdedRelu x > alpha: alpha one float32 lower."""
    alpha = np.nextafter(np.float32(ctx.val(op, "alpha", 1.0)), np.float32(-np.inf))
    ctx.node("ThresholdedRelu", [ctx.input(op, "x")], [ctx.out(op)], alpha=float(alpha))


@FROM_MIL.register("prelu")
def prelu(op, ctx):
    alpha = np.asarray(ctx.val(op, "alpha"), np.float32)
    rank = len(op.inputs["x"].shape)
    slope = ctx.const(ctx.out(op) + "__slope", alpha.reshape((-1,) + (1,) * (rank - 2)))
    ctx.node("PRelu", [ctx.input(op, "x"), slope], [ctx.out(op)])


@FROM_MIL.register("select")
def select(op, ctx):
    ctx.node("Where", [ctx.input(op, "cond"), ctx.input(op, "a"), ctx.input(op, "b")], [ctx.out(op)])


@FROM_MIL.register("cast")
def cast(op, ctx):
    dtype = str(ctx.val(op, "dtype"))
    if dtype not in CAST:
        raise ctx.fail("cast to %s is not translated" % dtype)
    ctx.node("Cast", [ctx.input(op, "x")], [ctx.out(op)], to=CAST[dtype])

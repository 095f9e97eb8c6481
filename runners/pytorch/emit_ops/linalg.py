"""Linear algebra beyond MatMul/Gemm: Einsum, Det."""

from ..codegen import EMIT


@EMIT.register("Einsum")
def einsum(node, ctx, equation=None):
    eq = "".join(equation.split())  # ONNX allows spaces around the terms
    ctx.assign(node, "torch.einsum(%r, %s)" % (eq, ", ".join(ctx.x(i) for i in node.inputs)))


@EMIT.register("Det")
def det(node, ctx):
    ctx.assign(node, "torch.linalg.det(%s)" % ctx.x(node.inputs[0]))

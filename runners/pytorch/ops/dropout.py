"""Dropout (inference: identity, kept as a layer so the code reads like the original)."""

from ..codegen import EMIT, lit


@EMIT.register("Dropout", since=13)
def dropout(node, ctx, seed=None):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("the Dropout mask output is not supported")
    ratio = 0.5
    if node.input(1):
        ratio = float(ctx.need_const(node, 1, "ratio").reshape(()))
    mod = ctx.module(node, "nn.Dropout(%s)" % ("" if ratio == 0.5 else "p=%s" % lit(ratio)))
    ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])), outputs=node.outputs[:1])

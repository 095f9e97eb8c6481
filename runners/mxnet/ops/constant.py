"""Shape and Constant: folded into constants before emission when shapes are static (they are,
in IR graphs parsed with input shapes); these converters handle what folding leaves."""

from ..codegen import EMIT


@EMIT.register("Shape", since=15)
def shape(node, ctx, start=0, end=None):
    raise ctx.fail("the shape of '%s' is not static; give the input shapes when converting" % node.input(0))


@EMIT.register("Constant", since=13)
def constant(node, ctx, **value):
    raise ctx.fail("this Constant could not be evaluated")

"""CNTK primitive op -> IR converters, one module per op family, discovered by `registry.discover`.

A converter takes (node, ctx): `node` is a `graph.Primitive` (op, attrs, inputs, outputs, name),
`ctx` a `parse.ParseContext` that adds IR nodes and constants."""

from runners.common.registry import Registry

PARSE = Registry("cntk", "parse")
# Blocks converted whole (not opened) when their op name is registered here.
BLOCKS = set(["LeakyReLU", "Softmax"])

"""CNTK primitive op -> IR converters, one module per op family, registered into `parse.PARSE`.

A converter takes (node, ctx): `node` is a `graph.Primitive` (op, attrs, inputs, outputs, name),
`ctx` a `parse.ParseContext` that adds IR nodes and constants."""

"""CoreML NeuralNetwork layer -> IR (ONNX) node converters, one module per layer family,
discovered by `registry.discover`. Each takes (layer, params, ctx): the layer message, its
parameters message (the `layer` oneof) and the ParseContext."""

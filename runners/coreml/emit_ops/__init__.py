"""IR -> CoreML NeuralNetwork layer converters, one module per op family, discovered by
`registry.discover`."""

"""IR -> PyTorch op converters, one module per op family, discovered by `registry.discover`."""

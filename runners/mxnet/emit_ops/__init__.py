"""IR -> Gluon op converters, one module per op family, discovered by the registry (EMIT.loaded())."""

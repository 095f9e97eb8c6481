"""IR -> CNTK op converters, one module per op family, registered into `emit.EMIT`."""

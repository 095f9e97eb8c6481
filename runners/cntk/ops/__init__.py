"""IR -> CNTK op converters, one module per op family, discovered by `registry.discover`."""

from runners.common.registry import Registry

EMIT = Registry("cntk", "emit")

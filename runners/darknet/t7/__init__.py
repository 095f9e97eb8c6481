"""Torch7 .t7: the binary serialization read by the runner's own code, converted module by module."""

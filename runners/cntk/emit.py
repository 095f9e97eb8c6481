"""IR -> readable CNTK Python source (cntk.layers / cntk ops, NCHW without the batch axis) + .npz."""

from runners.common.registry import discover

_REGISTRY = None


def registry():
    global _REGISTRY
    if _REGISTRY is None:
        from .ops import EMIT

        discover("runners.cntk.ops")
        _REGISTRY = EMIT
    return _REGISTRY

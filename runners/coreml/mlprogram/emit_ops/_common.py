"""What the MIL converters share."""

import numpy as np


def mil_pads(spec):
    """A window spec's pads in MIL's order [b1, e1, b2, e2, ...]."""
    out = []
    for b, e in zip(spec.begins, spec.ends):
        out += [int(b), int(e)]
    return out


def f32(value):
    return np.ascontiguousarray(np.asarray(value, np.float32))


def named(ctx, node, last):
    """`name=` for an op: the node's output for its last op, a fresh identifier before."""
    return ctx.out(node) if last else ctx.names.fresh(ctx.out(node) + "_part")

"""BatchNormalization (inference)."""

import numpy as np

from . import EMIT


@EMIT.register("BatchNormalization", since=9)
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode BatchNormalization cannot be emitted for inference")
    x = node.input(0)
    if ctx.rank(x) is not None and ctx.rank(x) < 3:
        spatial = False  # (N, C): CNTK's per-element mode is per channel here
    else:
        spatial = True
    args = [ctx.x(x)]
    for i, kind in ((1, "parameter"), (2, "parameter"), (3, "constant"), (4, "constant")):
        value = ctx.need_const(i, "the BatchNormalization statistics")
        args.append(ctx.weight(node.input(i), np.asarray(value, dtype=np.float32), kind))
    count = "C.constant(1.0)"  # CNTK reads the running count in training only
    expr = ctx.call("batch_normalization", *args, spatial=spatial, running_count=None, epsilon=float(epsilon))
    expr = expr[:-1] + ", running_count=%s)" % count
    ctx.assign(node, expr)

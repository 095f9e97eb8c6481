"""BatchNormalization (inference) as layers.BatchNormalization on the channel axis."""

import numpy as np

from ..codegen import EMIT, channels_last, lit


@EMIT.register("BatchNormalization", since=15)
def batch_norm(node, ctx, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise ctx.fail("training-mode batch normalization cannot be emitted")
    x = node.inputs[0]
    rank = ctx.rank(x) or 4
    params = [
        np.asarray(ctx.need_const(node, i, what), np.float32)
        for i, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance"))
    ]
    layout = channels_last(rank) if rank > 2 else (0, 1)
    ctor = "layers.BatchNormalization(axis=-1, epsilon=%s)" % lit(float(epsilon))
    ctx.layer(node, ctor, [ctx.x(x, layout)], layout, params=params, outputs=node.outputs[:1])

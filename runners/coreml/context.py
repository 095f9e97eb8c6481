"""What an IR -> CoreML NeuralNetwork converter works with: the emit registry and the context.

The target is a NeuralNetwork spec in CoreML's classic rank-5 layout (Seq, Batch, C, H, W), the
format MMdnn wrote, with the layers of specification versions 1 to 3 only (the rank-5 mapping does
not allow the N-dimensional layers of version 4 on). An IR value [N, C, H, W] is the blob (C, H, W)
and an IR value [N, F] is the blob (F, 1, 1); the batch is CoreML's batch axis. A converter is
registered per IR op and receives the node, the context and the node's ONNX attributes (with ONNX
defaults):

    @EMIT.register("LeakyRelu")
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.builder.add_activation(ctx.layer(node), "LEAKYRELU", ctx.feature(node.input(0)),
                                   ctx.out(node), params=[alpha])
"""

import numpy as np

from runners.common.emit import EmitContext
from runners.common.naming import unique_name
from runners.common.registry import Registry

EMIT = Registry("coreml", "emit", package="runners.coreml.emit_ops")


class CoreMLContext(EmitContext):
    framework = "coreml"

    def __init__(self, model, weights, builder, path=""):
        EmitContext.__init__(self, model, weights)
        self.builder = builder
        self.path = path
        self.aliases = {}  # IR value name -> the blob that holds it (a reshape that moves nothing)
        # IR value of a rank the layout cannot hold, made by a reshape -> (blob, IR shape) reshaped
        self.reshaped = {}
        self._names = set()

    # -- values -------------------------------------------------------------------------------
    def blob(self, name):
        """The CoreML blob holding IR value `name` (an activation, never a constant)."""
        if name in self.consts:
            raise self.fail("input '%s' is a constant; CoreML's layers take constants only as weights" % name)
        return self.aliases.get(name, name)

    def feature(self, name):
        """An IR activation as a CoreML blob of rank 4 [N, C, H, W] or 2 [N, F]; other ranks fail."""
        r = self.need_rank(name)
        if r not in (2, 4):
            raise self.fail(
                "'%s' has rank %d; the NeuralNetwork format's classic layout holds [N, C, H, W] or [N, F] values"
                % (name, r),
                hint="convert to an ML Program instead (-om model.mlpackage), which holds any rank",
            )
        return self.blob(name)

    def source(self, name):
        """(blob, IR shape) a reshape of `name` starts from: the blob itself, or for a value of a rank
        the layout cannot hold that a reshape made, the blob that reshape read."""
        return self.reshaped.get(name) or (self.blob(name), self.need_shape(name))

    def chw(self, name):
        """(C, H, W) of the blob holding an [N, C, H, W] or [N, F] value."""
        shape = self.need_shape(name)
        return list(shape[1:]) + [1] * (4 - len(shape))

    def out(self, node, i=0):
        return node.outputs[i]

    def alias(self, node, src):
        self.aliases[node.outputs[0]] = self.blob(src)

    def layer(self, node, suffix=""):
        """A layer name, unique in the spec, from the IR node's name."""
        return unique_name(self._names, node.name + ("/" + suffix if suffix else ""))

    def temp(self, node, suffix):
        """A blob name for a value between two layers of one IR node."""
        return "%s/%s" % (node.outputs[0], suffix)

    def fail(self, message, reference="unsupported-attribute", hint=None, node=None):
        err = EmitContext.fail(self, message, reference=reference, hint=hint, node=node)
        err.file = self.path
        return err


def float32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))

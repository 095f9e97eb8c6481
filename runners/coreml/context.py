"""What an IR -> CoreML op converter works with: the emit registry and the EmitContext.

The target is a NeuralNetwork spec in CoreML's classic rank-5 layout (Seq, Batch, C, H, W), the
format MMdnn wrote. An IR value [N, C, H, W] is the blob (C, H, W) and an IR value [N, F] is the
blob (F, 1, 1); the batch is CoreML's batch axis. A converter is registered per IR op and
receives the node, the context and the node's ONNX attributes (with ONNX defaults):

    @EMIT.register("LeakyRelu", since=6)
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.builder.add_activation(ctx.layer(node), "LEAKYRELU", ctx.blob(node.inputs[0]),
                                   ctx.out(node), params=[alpha])
"""

import numpy as np

from runners.common.emit_graph import IRNode  # noqa: F401  (re-exported for the ops)
from runners.common.errors import RunnerError
from runners.common.registry import Registry

EMIT = Registry("coreml", "emit")


class EmitContext(object):
    def __init__(self, builder, shapes, consts, opset, path=""):
        self.builder = builder
        self.shapes = shapes  # IR value name -> [dims]
        self.consts = consts  # IR value name -> ndarray (initializers, Constant outputs)
        self.opset = opset
        self.path = path
        self.aliases = {}  # IR value name -> the blob that holds it (Identity, Dropout)
        self.node = None
        self._names = set()

    # -- values -------------------------------------------------------------------------------
    def const(self, name):
        if name is None:
            return None
        return self.consts.get(name)

    def shape(self, name):
        s = self.shapes.get(name)
        if s is None:
            c = self.const(name)
            return list(c.shape) if c is not None else None
        return s

    def rank(self, name):
        s = self.shape(name)
        return len(s) if s is not None else None

    def blob(self, name):
        """The CoreML blob holding IR value `name` (an activation, never a constant)."""
        if name in self.consts:
            raise self.fail("input '%s' is a constant; CoreML layers take it only as a weight" % name)
        return self.aliases.get(name, name)

    def feature(self, name):
        """An IR activation as a CoreML blob of rank 4 [N, C, H, W] or 2 [N, F]; other ranks fail."""
        r = self.rank(name)
        if r not in (2, 4):
            raise self.fail(
                "input '%s' has rank %s; the NeuralNetwork format holds [N, C, H, W] or [N, F] values"
                % (name, "unknown" if r is None else r),
                hint="give the input shapes with --inputShape so every value's rank is known",
            )
        return self.blob(name)

    def out(self, node, i=0):
        return node.outputs[i]

    def alias(self, node, src):
        self.aliases[node.outputs[0]] = self.blob(src)

    def layer(self, node, suffix=""):
        """A layer name, unique in the spec, from the IR node's name."""
        base = node.name + ("/" + suffix if suffix else "")
        name, i = base, 1
        while name in self._names:
            i += 1
            name = "%s_%d" % (base, i)
        self._names.add(name)
        return name

    def temp(self, node, suffix):
        """A blob name for a value between two layers of one IR node."""
        return "%s/%s" % (node.outputs[0], suffix)

    def fail(self, message, hint=""):
        node = self.node
        return RunnerError(
            "unsupported-attribute",
            message,
            file=self.path,
            node=node.name if node else "",
            op=node.op if node else "",
            opset=self.opset,
            hint=hint or "convert to another target framework, or change this layer in the source model",
        )


def float32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))

"""What an IR -> CNTK op converter works with: the EmitContext.

A converter is registered per IR op (`ops.EMIT`) and receives the node, the context and the node's
ONNX attributes as keyword arguments with ONNX defaults:

    @EMIT.register("LeakyRelu", since=6)
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.assign(node, ctx.call("leaky_relu", ctx.x(node.inputs[0]), alpha=alpha))

Generated code is one function `build(weights)` of CNTK ops. CNTK shapes leave the batch axis
out (it is a dynamic axis), so IR axis a of a batched value is CNTK axis a-1; every function is
named after the IR value it computes, so Infer reports the IR's names for the saved model too.
"""

from runners.common.codegen import EmitContextBase, lit
from runners.common.codegen import identifier as _identifier

_RESERVED = set(["C", "np", "weights", "build", "INPUTS", "OUTPUTS", "model"])


def identifier(name, fallback="v"):
    return _identifier(name, fallback, _RESERVED)


class EmitContext(EmitContextBase):
    reserved = _RESERVED

    def __init__(self, model, opset, shapes):
        super(EmitContext, self).__init__(model, opset, shapes)
        self.const_vars = {}  # (IR value, rank) -> Python variable of its CNTK constant
        self.batched = set()  # IR values that carry the batch axis
        # batched values whose IR shape has dropped the batch axis (size 1): IR axis a is CNTK's a
        self.hidden = set()
        self.weights = {}  # npz key -> ndarray
        self.lines = []

    def weight(self, ir_name, value, kind="constant"):
        """`C.parameter(...)` / `C.constant(...)` reading `weights[key]`; returns its variable."""
        value = self.stored(value)
        key = self.new_key(ir_name, self.weights)
        self.weights[key] = value
        arg = "init" if kind == "parameter" else "value"
        self.lines.append("%s = C.%s(%s=weights[%s], name=%s)" % (key, kind, arg, lit(key), lit(ir_name)))
        return key

    def x(self, name, kind="constant", rank=None):
        """The expression for IR value `name`. A constant becomes a CNTK constant (or parameter);
        given the batched operand's IR `rank`, a constant of that full rank loses its batch axis."""
        if name in self.vars:
            return self.vars[name]
        if name in self.consts:
            value = self.consts[name]
            if rank is not None and value.ndim == rank and value.ndim > 0:
                if value.shape[0] != 1:
                    raise self.fail("constant '%s' varies along the batch axis" % name)
                value = value.reshape(value.shape[1:])
            if value.ndim == 0:
                return lit(value.item())
            key = (name, value.ndim)
            if key not in self.const_vars:
                self.const_vars[key] = self.weight(name, value, kind)
            return self.const_vars[key]
        raise self.fail("value '%s' is not computed before it is used" % name)

    def rank(self, name):
        s = self.shapes.get(name)
        return len(s) if s is not None else None

    def axis(self, name, axis):
        """IR axis of batched value `name` -> CNTK static axis."""
        rank = self.rank(name)
        if rank is None:
            raise self.fail("the rank of '%s' is unknown" % name)
        a = axis + rank if axis < 0 else axis
        if name not in self.batched or name in self.hidden:
            return a
        if a == 0:
            raise self.fail("CNTK cannot operate along the batch axis")
        return a - 1

    def call(self, op, *args, **attrs):
        """`C.op(args, attr=value, ...)`: string arguments are expressions, others literals;
        attributes with value None are left out."""
        return self.call_expr("C", op, args, attrs, sort=True)

    def assign(self, node, expr, output=None, batched=True, hidden=None):
        """`var = expr, name=<IR value>` for the node's (first) output. The output has its batch
        axis hidden (see `hidden`) when an input has, unless `hidden` says otherwise."""
        out = output or node.outputs[0]
        if expr.startswith("C.") and expr.endswith(")"):
            expr = self.with_name(expr, out)
        else:
            expr = "C.alias(%s, name=%s)" % (expr, lit(out))
        var = self.new_var(out)
        self.lines.append("%s = %s" % (var, expr))
        if batched:
            self.batched.add(out)
        if hidden is None:
            hidden = any(i in self.hidden for i in node.inputs)
        if hidden:
            self.hidden.add(out)
        return var

    def line(self, text):
        self.lines.append(text)

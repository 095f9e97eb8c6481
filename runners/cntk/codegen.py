"""What an IR -> CNTK op converter works with: the emit context.

A converter is registered per IR op (`emit.EMIT`) and receives the node, the context and the node's
ONNX attributes as keyword arguments with ONNX defaults:

    @EMIT.register("LeakyRelu")
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.assign(node, ctx.call("leaky_relu", ctx.x(node.input(0)), alpha=alpha))

Generated code is one function `build(weights)` of CNTK ops. CNTK shapes leave the batch axis
out (it is a dynamic axis), so IR axis a of a batched value is CNTK axis a-1; every function is
named after the IR value it computes, so Infer reports the IR's names for the saved model too.
A graph input that does not carry the graph's batch axis (a lower rank, or a first dimension
other than the batch's) is a CNTK input without dynamic axes: IR axis a is CNTK axis a.
"""

from runners.common import ir
from runners.common.codegen import EmitContextBase, lit
from runners.common.codegen import identifier as _identifier
from runners.common.emit import EmitContext

_RESERVED = set(["C", "np", "weights", "build", "INPUTS", "OUTPUTS", "model"])


def identifier(name, fallback="v"):
    return _identifier(name, fallback, _RESERVED)


class CNTKContext(EmitContext, EmitContextBase):
    """The shared emit context (values, constants, shapes, refusals) with the code generator's
    names and lines, and what CNTK needs to know of each value: whether it carries the batch axis."""

    framework = "cntk"
    reserved = _RESERVED

    def __init__(self, model, weights):
        EmitContext.__init__(self, model, weights, shapes=ir.value_shapes(model), dtypes=ir.value_dtypes(model))
        self.vars = {}  # IR value -> Python variable
        self.used_names = set(self.reserved)
        self.const_vars = {}  # (IR value, rank) -> Python variable of its CNTK constant
        self.batched = set()  # IR values that carry the batch axis
        # batched values whose IR shape has dropped the batch axis (size 1): IR axis a is CNTK's a
        self.hidden = set()
        self.weights = {}  # npz key -> ndarray
        self.lines = []
        self.read = set()  # IR values the generated code reads

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
        self.read.add(name)
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
        raise self.fail("value '%s' is not computed before it is used" % name, reference="internal-bug")

    def is_batched(self, name):
        """`name` carries the batch axis as CNTK's dynamic axis (IR axis 0 is not a CNTK axis)."""
        return name in self.batched and name not in self.hidden

    def axis(self, name, axis):
        """IR axis of value `name` -> CNTK static axis."""
        rank = self.need_rank(name)
        a = axis + rank if axis < 0 else axis
        if not self.is_batched(name):
            return a
        if a == 0:
            raise self.fail("an operation along the batch axis; CNTK keeps the batch as a dynamic axis")
        return a - 1

    def static_dims(self, name):
        """The CNTK static shape of IR value `name`: its IR shape without the batch axis if batched."""
        shape = self.need_shape(name)
        return shape[1:] if self.is_batched(name) else shape

    def call(self, op, *args, **attrs):
        """`C.op(args, attr=value, ...)`: string arguments are expressions, others literals;
        attributes with value None are left out."""
        return self.call_expr("C", op, args, attrs, sort=True)

    def assign(self, node, expr, output=None, batched=None, hidden=None):
        """`var = expr, name=<IR value>` for the node's (first) output. The output carries the batch
        axis when an input does (unless `batched` says otherwise), and has it hidden (see `hidden`)
        when an input has, unless `hidden` says otherwise."""
        out = output or node.outputs[0]
        if batched is None:
            batched = any(i in self.batched for i in node.inputs if i)
        if hidden is None:
            hidden = any(i in self.hidden for i in node.inputs if i)
        if hidden and out in self.graph_outputs:  # a graph output gives the batch back to CNTK's axis
            shape = self.need_shape(out)
            if shape[:1] != [1]:
                raise self.fail("output '%s' of shape %s holds the batch inside" % (out, shape))
            expr, hidden = "C.reshape(%s, %s)" % (self.temp(expr, "batch_inside"), lit(tuple(shape[1:]))), False
        if expr.startswith("C.") and expr.endswith(")"):
            expr = self.with_name(expr, out)
        else:
            expr = "C.alias(%s, name=%s)" % (expr, lit(out))
        var = self.new_var(out)
        self.lines.append("%s = %s" % (var, expr))
        if batched:
            self.batched.add(out)
        if hidden:
            self.hidden.add(out)
        return var

    def line(self, text):
        self.lines.append(text)

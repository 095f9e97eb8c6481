"""What an IR -> MXNet op converter works with: the emit registry and the EmitContext.

A converter is registered per IR op and receives the node, the context and the node's ONNX
attributes as keyword arguments (with ONNX defaults in its signature):

    @EMIT.register("LeakyRelu", since=6)
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.assign(node, ctx.call("LeakyReLU", ctx.x(node.inputs[0]), act_type="leaky", slope=alpha))

Generated code is a Gluon HybridBlock whose `hybrid_forward` calls MXNet operators through `F`
(mx.nd or mx.sym), each named after the IR value it computes, so an exported symbol keeps the IR's
value names. Weights and constant tensors are Gluon parameters named after their IR initializers.
"""

import keyword

import numpy as np

from runners.common.codegen import (
    EmitContextBase,
    lit,  # noqa: F401  (re-exported for the ops)
)
from runners.common.codegen import identifier as _identifier
from runners.common.emit_graph import IRNode  # noqa: F401  (re-exported for the ops)
from runners.common.registry import Registry

EMIT = Registry("mxnet", "emit")

_RESERVED = set(keyword.kwlist) | {"self", "F", "p", "mx", "gluon", "np", "super", "kwargs"}


def identifier(name, fallback="v"):
    return _identifier(name, fallback, _RESERVED)


class EmitContext(EmitContextBase):
    reserved = _RESERVED

    def __init__(self, model, opset, shapes, dtypes):
        super(EmitContext, self).__init__(model, opset, shapes)
        self.dtypes = dtypes
        self.params = {}  # identifier -> ndarray
        self.param_of = {}  # IR value -> identifier
        self.init_lines = []
        self.forward_lines = []
        self.ir_values = []  # (variable, IR value)

    def param(self, ir_name, value=None):
        """A Gluon parameter holding a constant; returns the expression that reads it."""
        if ir_name in self.param_of:
            return 'p["%s"]' % self.param_of[ir_name]
        value = self.stored(self.consts[ir_name] if value is None else value)
        ident = self.new_key(ir_name, self.params)
        self.params[ident] = value
        self.param_of[ir_name] = ident
        dtype = "" if value.dtype == np.float32 else ", dtype=%s" % lit(value.dtype.name)
        self.init_lines.append(
            'self.%s = self.params.get("%s", shape=%s%s, grad_req="null")'
            % (ident, ident, lit(tuple(value.shape)), dtype)
        )
        return 'p["%s"]' % ident

    def x(self, name):
        """The expression for IR value `name`: a variable, or a parameter for a constant."""
        if name in self.vars:
            return self.vars[name]
        if name in self.consts:
            return self.param(name)
        raise self.fail("value '%s' is not computed before it is used" % name)

    def scalar(self, name):
        """A constant holding one number, as a Python number; None otherwise."""
        v = self.const(name)
        if v is not None and v.size == 1:
            return v.reshape(()).item()
        return None

    # -- code --------------------------------------------------------------------------------
    def call(self, op, *args, **attrs):
        """`F.op(args, attr=value, ...)`; attributes with value None are left out."""
        return self.call_expr("F", op, args, attrs)

    def assign(self, node, expr, output=None, name=True):
        """`var = expr` for the node's (first) output; the operator is named after the IR value."""
        out = output or node.outputs[0]
        if name and expr.startswith("F.") and expr.endswith(")"):
            expr = self.with_name(expr, out)
        var = self.new_var(out)
        self.forward_lines.append("%s = %s" % (var, expr))
        self.ir_values.append((var, out))
        return var

    def line(self, text):
        self.forward_lines.append(text)

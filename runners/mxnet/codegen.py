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

from runners.common.codegen import identifier as _identifier
from runners.common.codegen import lit  # noqa: F401  (re-exported for the ops)
from runners.common.emit_graph import IRNode  # noqa: F401  (re-exported for the ops)
from runners.common.errors import RunnerError
from runners.common.registry import Registry

EMIT = Registry("mxnet", "emit")

_RESERVED = set(keyword.kwlist) | {"self", "F", "p", "mx", "gluon", "np", "super", "kwargs"}


def identifier(name, fallback="v"):
    return _identifier(name, fallback, _RESERVED)


class EmitContext(object):
    def __init__(self, model, opset, shapes, dtypes):
        self.model = model
        self.opset = opset
        self.shapes = shapes  # IR value -> [dims or None]
        self.dtypes = dtypes
        self.consts = {}  # IR value -> ndarray (initializers and folded values)
        self.vars = {}  # IR value -> Python variable
        self.used_names = set(_RESERVED)
        self.params = {}  # identifier -> ndarray
        self.param_of = {}  # IR value -> identifier
        self.init_lines = []
        self.forward_lines = []
        self.ir_values = []  # (variable, IR value)
        self.node = None
        self.warnings = []

    # -- names -------------------------------------------------------------------------------
    def new_var(self, ir_name):
        base = identifier(ir_name)
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = "%s_%d" % (base, k)
        self.used_names.add(name)
        self.vars[ir_name] = name
        return name

    # -- values ------------------------------------------------------------------------------
    def const(self, name):
        return self.consts.get(name) if name else None

    def shape(self, name):
        if name in self.consts:
            return list(self.consts[name].shape)
        s = self.shapes.get(name)
        if s is None or any(d is None for d in s):
            return None
        return list(s)

    def need_shape(self, name):
        s = self.shape(name)
        if s is None:
            raise self.fail("the shape of '%s' is unknown; give the input shapes when converting" % name)
        return s

    def need_const(self, index, what):
        name = self.node.input(index)
        value = self.const(name)
        if value is None:
            raise self.fail("%s must be a constant" % what)
        return value

    def param(self, ir_name, value=None):
        """A Gluon parameter holding a constant; returns the expression that reads it."""
        if ir_name in self.param_of:
            return 'p["%s"]' % self.param_of[ir_name]
        if value is None:
            value = self.consts[ir_name]
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        ident = identifier(ir_name, "w")
        base, k = ident, 1
        while ident in self.params or ident in self.used_names:
            k += 1
            ident = "%s_%d" % (base, k)
        self.used_names.add(ident)
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
        parts = list(args) + ["%s=%s" % (k, lit(v)) for k, v in attrs.items() if v is not None]
        return "F.%s(%s)" % (op, ", ".join(parts))

    def named(self, expr, name):
        """Add the name= argument to a call expression."""
        assert expr.endswith(")")
        sep = "" if expr.endswith("()") else ", "
        return expr[:-1] + sep + "name=%s)" % lit(name)

    def assign(self, node, expr, output=None, name=True):
        """`var = expr` for the node's (first) output; the operator is named after the IR value."""
        out = output or node.outputs[0]
        if name and expr.startswith("F.") and expr.endswith(")"):
            expr = self.named(expr, out)
        var = self.new_var(out)
        self.forward_lines.append("%s = %s" % (var, expr))
        self.ir_values.append((var, out))
        return var

    def line(self, text):
        self.forward_lines.append(text)

    def temp(self, expr, hint="t"):
        var = self.new_var("_%s_%s" % (identifier(self.node.name if self.node else "x"), hint))
        self.forward_lines.append("%s = %s" % (var, expr))
        return var

    def fail(self, message):
        node = self.node
        return RunnerError(
            "unsupported-attribute",
            message,
            node=node.name if node else "",
            op=node.op_type if node else "",
            opset=self.opset,
            hint="convert to another target framework, or simplify the model (e.g. with onnxsim)",
        )

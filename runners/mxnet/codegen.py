"""What an IR -> MXNet op converter works with: the emit registry and the MXNet emit context.

A converter is registered per IR op and receives the node, the context and the node's ONNX
attributes as keyword arguments (with ONNX defaults in its signature):

    @EMIT.register("LeakyRelu")
    def leaky_relu(node, ctx, alpha=0.01):
        ctx.assign(node, ctx.call("LeakyReLU", ctx.x(node.input(0)), act_type="leaky", slope=alpha))

Generated code is a Gluon HybridBlock whose `hybrid_forward` calls MXNet operators through `F`
(mx.nd or mx.sym), each named after the IR value it computes, so an exported symbol keeps the IR's
value names. Weights and constant tensors are Gluon parameters named after their IR initializers.

How IR values are held (MXNet 1.x's legacy operators have fewer forms than ONNX):
- dtypes: float16/32/64, uint8, int8, int32, int64. A bool value is held as uint8 0/1 (MXNet's
  operators take no bool arrays); int16 and unsigned types wider than 8 bits are refused.
- a zero-dimensional value is held as shape (1,) (legacy arrays have at least one axis); a graph
  output the IR defines as zero-dimensional is marked so that Infer reports it as such.
"""

import keyword

import numpy as np

from runners.common.codegen import EmitContextBase, lit
from runners.common.codegen import identifier as _identifier
from runners.common.emit import EmitContext
from runners.common.registry import Registry

EMIT = Registry("mxnet", "emit", package="runners.mxnet.emit_ops")

_RESERVED = set(keyword.kwlist) | {"self", "F", "p", "mx", "gluon", "np", "super", "kwargs"}

# numpy dtype name -> the dtype MXNet holds it in
HELD_AS = {
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "uint8": "uint8",
    "int8": "int8",
    "int32": "int32",
    "int64": "int64",
    "bool": "uint8",
}
BIG = 3.4028234663852886e38  # float32's largest: an open bound for clip


def identifier(name, fallback="v"):
    return _identifier(name, fallback, _RESERVED)


def held_shape(shape):
    """The shape MXNet holds a value of IR shape `shape` in: () becomes (1,)."""
    return tuple(int(d) for d in shape) if len(shape) else (1,)


class MXNetContext(EmitContext, EmitContextBase):
    """The shared EmitContext (values, shapes, dtypes, refusals) plus Gluon code generation; the
    naming and call-formatting helpers come from runners.common.codegen.EmitContextBase, whose
    value and refusal methods EmitContext overrides."""

    framework = "mxnet"
    reserved = _RESERVED
    # dtypes MXNet 1.x has no arrays of: nodes reading or computing them are refused (emit_nodes)
    unsupported_dtypes = ("int16", "uint16", "uint32", "uint64", "bfloat16", "float8_e4m3fn", "float8_e4m3fnuz",
                          "float8_e5m2", "float8_e5m2fnuz", "int4", "uint4", "complex64", "complex128", "object",
                          "str")  # fmt: skip

    def __init__(self, model, weights):
        EmitContext.__init__(self, model, weights)
        self.vars = {}  # IR value -> Python variable
        self.used_names = set(self.reserved)
        self.params = {}  # identifier -> ndarray
        self.param_of = {}  # IR value -> identifier
        self.init_lines = []
        self.forward_lines = []

    # ---- values -------------------------------------------------------------------------
    def param(self, ir_name, value=None):
        """A Gluon parameter holding a constant; returns the expression that reads it."""
        if value is None and ir_name in self.param_of:
            return 'p["%s"]' % self.param_of[ir_name]
        value = np.asarray(self.consts[ir_name] if value is None else value)
        if value.dtype == np.bool_:
            value = value.astype(np.uint8)
        if value.ndim == 0:
            value = value.reshape(1)
        if value.size == 0:
            raise self.fail("'%s' is an empty array; MXNet 1.x stores none" % ir_name)
        ident = self.new_key(ir_name, self.params)
        self.params[ident] = value
        if ir_name not in self.param_of:
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

    def held_dtype(self, name):
        """The MXNet dtype name value `name` is held in (None when unknown)."""
        dt = self.dtype(name)
        return None if dt is None else HELD_AS.get(np.dtype(dt).name)

    def is_float(self, name):
        dt = self.dtype(name)
        return dt is None or np.dtype(dt).kind == "f"

    def is_bool(self, name):
        dt = self.dtype(name)
        return dt is not None and np.dtype(dt) == np.bool_

    def need_float(self, name, what="this operator"):
        """Refuse a non-floating input of an MXNet operator that computes in floating point only."""
        if not self.is_float(name):
            dtype = np.dtype(self.dtype(name))
            raise self.fail("MXNet's %s takes floating-point tensors only, not %s ('%s')" % (what, dtype, name))

    # ---- code ---------------------------------------------------------------------------
    def call(self, op, *args, **attrs):
        """`F.op(args, attr=value, ...)`; attributes with value None are left out."""
        return self.call_expr("F", op, args, attrs)

    def assign(self, node, expr, output=None):
        """`var = expr` for the node's (first) output; the operator is named after the IR value."""
        out = output or node.outputs[0]
        if expr.startswith("F.") and expr.endswith(")"):
            expr = self.with_name(expr, out)
        else:
            expr = self.with_name(self.call("identity", expr), out)
        var = self.new_var(out)
        self.forward_lines.append("%s = %s" % (var, expr))
        return var

    def line(self, text):
        self.forward_lines.append(text)

    def as_bool(self, expr):
        """A 0/1 value (any dtype) as the uint8 a bool IR value is held in."""
        return self.call("cast", expr, dtype="uint8")

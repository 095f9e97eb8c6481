"""Helpers every code generator needs: Python identifiers and literals, explicit ONNX pads."""

import keyword
import re
from typing import Any  # noqa: F401  (type comments)

import numpy as np

from .errors import RunnerError


def identifier(name, fallback="v", reserved=()):
    """A Python identifier from an IR name (not a keyword, not in `reserved`)."""
    s = re.sub(r"\W+", "_", str(name)).strip("_") or fallback
    if s[0].isdigit():
        s = fallback + "_" + s
    if s in reserved or keyword.iskeyword(s):
        s += "_"
    return s


def lit(value, dtype=None):
    """A Python literal: numbers, strings, tuples (for shape-like attributes), lists, arrays.

    A float32 value is written with the fewest digits that give back the same float32 (`0.1`,
    not `0.10000000149011612`); other floats with repr."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return lit(value.item(), value.dtype)
        return "[%s]" % ", ".join(lit(v, value.dtype) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _float_lit(value, dtype)
    if isinstance(value, bytes):
        return repr(value.decode("utf-8"))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(lit(v, dtype) for v in value)
        return "(%s,)" % inner if len(value) == 1 else "(%s)" % inner
    if isinstance(value, list):
        return "[%s]" % ", ".join(lit(v, dtype) for v in value)
    if value is None:
        return "None"
    raise TypeError("no literal for %r" % (value,))


def _float_lit(value, dtype):
    v = float(value)
    if v != v:
        return "float('nan')"
    if v in (float("inf"), float("-inf")):
        return "float('%s')" % ("inf" if v > 0 else "-inf")
    if isinstance(value, np.float32) or (dtype is not None and np.dtype(dtype) == np.float32):
        short = str(np.float32(v))
        if "e" not in short and "." not in short:
            short += ".0"
        return short if np.float32(float(short)) == np.float32(v) else repr(float(np.float32(v)))
    return repr(v)


def resolve_pads(spatial, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads as (begins, ends) with auto_pad resolved from the input's spatial sizes."""
    n = len(kernel)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(n):
            out = -(-spatial[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        return begins, ends
    if auto_pad == "VALID" or not pads:
        return [0] * n, [0] * n
    return list(pads[:n]), list(pads[n:])


AUTO_PADS = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def explicit_pads(ctx, x, kernel, strides, dilations, pads, auto_pad):
    """ONNX pads (begins + ends) of a sliding-window op reading IR value `x`, auto_pad resolved.

    SAME padding needs x's spatial size only on axes with a stride above 1 (with stride 1 the
    total pad is the dilated kernel size minus one whatever the size). `ctx` gives `shape(name)`
    and `fail(message)`."""
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    auto_pad = auto_pad or "NOTSET"
    if auto_pad not in AUTO_PADS:
        raise ctx.fail("auto_pad=%s is not an ONNX value" % auto_pad)
    n = len(kernel)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    spatial = None
    if auto_pad.startswith("SAME"):
        shape = ctx.shape(x)
        shape = shape if shape is not None and len(shape) == n + 2 else [None] * (n + 2)
        spatial = []
        for size, stride in zip(shape[2:], strides):
            if size is None or size <= 0:
                if stride != 1:
                    raise ctx.fail(
                        "auto_pad %s with stride %d needs the spatial size of '%s'; give the input shapes "
                        "(--inputShape)" % (auto_pad, stride, x)
                    )
                size = 1
            spatial.append(int(size))
    begins, ends = resolve_pads(spatial, kernel, strides, dilations, pads, auto_pad)
    return begins + ends


def split_pads(pads):
    """ONNX pads (begins + ends) -> (begins, ends)."""
    n = len(pads) // 2
    return list(pads[:n]), list(pads[n:])


class EmitContextBase(object):
    """What every emitter's context has: Python names for IR values, constants, static shapes,
    the node being converted and errors that name it."""

    reserved = ()

    def __init__(self, model, opset, shapes):
        self.model = model
        self.opset = opset
        self.shapes = shapes  # IR value -> [dims or None]
        self.consts = {}  # IR value -> ndarray (initializers and folded values)
        self.vars = {}  # IR value -> Python variable
        self.used_names = set(self.reserved)
        self.node = None  # type: Any
        self.warnings = []

    def new_var(self, ir_name):
        base = identifier(ir_name, "v", self.reserved)
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = "%s_%d" % (base, k)
        self.used_names.add(name)
        self.vars[ir_name] = name
        return name

    def new_key(self, ir_name, taken, fallback="w"):
        """A fresh identifier for a stored tensor named after IR value `ir_name`, not in `taken`
        nor used by a variable."""
        base = identifier(ir_name, fallback, self.reserved)
        key, k = base, 1
        while key in taken or key in self.used_names:
            k += 1
            key = "%s_%d" % (base, k)
        self.used_names.add(key)
        return key

    @staticmethod
    def stored(value):
        """A constant as it is stored beside the generated code: float64 narrowed to float32."""
        value = np.asarray(value)
        return value.astype(np.float32) if value.dtype == np.float64 else value

    @staticmethod
    def call_expr(prefix, op, args, attrs, sort=False):
        """`prefix.op(args, attr=value, ...)`: string arguments are expressions, others literals;
        attributes with value None are left out."""
        items = sorted(attrs.items()) if sort else list(attrs.items())
        parts = [a if isinstance(a, str) else lit(a) for a in args]
        parts += ["%s=%s" % (k, lit(v)) for k, v in items if v is not None]
        return "%s.%s(%s)" % (prefix, op, ", ".join(parts))

    @staticmethod
    def with_name(expr, name):
        """A call expression with a `name=` argument added."""
        assert expr.endswith(")")
        return expr[:-1] + ("" if expr.endswith("()") else ", ") + "name=%s)" % lit(name)

    def line(self, text):
        """Append a line of generated code."""
        raise NotImplementedError

    def temp(self, expr, hint="t"):
        """`var = expr` for an intermediate of the current node; returns the variable."""
        var = self.new_var("_%s_%s" % (identifier(self.node.name if self.node else "x", "v", self.reserved), hint))
        self.line("%s = %s" % (var, expr))
        return var

    def const(self, name):
        return self.consts.get(name) if name else None

    def need_const(self, index, what):
        value = self.const(self.node.input(index))
        if value is None:
            raise self.fail("%s must be a constant" % what)
        return value

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

    def fail(self, message, hint="convert to another target framework, or simplify the model (e.g. with onnxsim)"):
        node = self.node
        return RunnerError(
            "unsupported-attribute",
            message,
            node=node.name if node else "",
            op=node.op_type if node else "",
            opset=self.opset,
            hint=hint,
        )

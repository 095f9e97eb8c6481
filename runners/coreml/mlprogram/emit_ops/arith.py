"""Element-wise arithmetic, comparison and logic as MIL ops: Add, Sub, Mul, Div, Max, Min (two
inputs: the broker chains more), Pow, Neg, Reciprocal, Log, Where, Greater, Less, Equal,
GreaterOrEqual, LessOrEqual, And, Or, Xor, Not.

MIL computes on float32 and int32 (an IR int64 is held as int32, as are the program's integer
inputs) and its logic on bool. Integer Div, Pow and Neg are refused: ONNX's integer division
truncates where MIL's floor_div floors, and MIL has no integer pow."""

import numpy as np

from ..common import TO_MIL
from ._common import named

BINARY = {
    "Add": "add",
    "Sub": "sub",
    "Mul": "mul",
    "Div": "real_div",
    "Max": "maximum",
    "Min": "minimum",
    "Pow": "pow",
    "Greater": "greater",
    "Less": "less",
    "Equal": "equal",
    "GreaterOrEqual": "greater_equal",
    "LessOrEqual": "less_equal",
}


def _operands(node, ctx, names):
    """MIL operands: Vars, or numpy constants beside a Var (both constant never reach an emitter)."""
    values = [ctx.x(n) for n in names]
    if all(isinstance(v, np.ndarray) for v in values):
        values[0] = ctx.var(names[0])
    return values


FLOAT = ("float32",)
NUMBERS = ("float32", "int32", "int64")  # int64 values are int32 in the program
LOGICAL = {"And": "logical_and", "Or": "logical_or", "Xor": "logical_xor"}


def _dtypes(node, ctx, allowed=FLOAT):
    for n in node.inputs:
        dtype = ctx.dtype(n) if n else None
        if dtype is not None and np.dtype(dtype).name not in allowed:
            raise ctx.fail(
                "%s of %s values is not converted to an ML Program (%s values)"
                % (node.op_type, np.dtype(dtype).name, ", ".join(allowed)),
            )


def _binary(node, ctx):
    from coremltools.converters.mil import Builder as mb

    _dtypes(node, ctx, FLOAT if node.op_type in ("Div", "Pow") else NUMBERS)
    names = [n for n in node.inputs if n]
    if len(names) == 1:
        ctx.alias(node, names[0])
        return
    a, b = _operands(node, ctx, names)
    ctx.set(node, getattr(mb, BINARY[node.op_type])(x=a, y=b, name=ctx.out(node)))


@TO_MIL.register(
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"
)
def binary(node, ctx):
    _binary(node, ctx)


@TO_MIL.register("Neg")
def neg(node, ctx):
    from coremltools.converters.mil import Builder as mb

    _dtypes(node, ctx)
    ctx.set(node, mb.mul(x=ctx.var(node.inputs[0]), y=np.float32(-1), name=ctx.out(node)))


@TO_MIL.register("Reciprocal")
def reciprocal(node, ctx):
    """1 / x as real_div (MIL's inverse adds an epsilon)."""
    from coremltools.converters.mil import Builder as mb

    _dtypes(node, ctx)
    ctx.set(node, mb.real_div(x=np.float32(1), y=ctx.var(node.inputs[0]), name=ctx.out(node)))


@TO_MIL.register("Log")
def log(node, ctx):
    from coremltools.converters.mil import Builder as mb

    _dtypes(node, ctx)
    ctx.set(node, mb.log(x=ctx.var(node.inputs[0]), epsilon=np.float32(0), name=ctx.out(node)))


@TO_MIL.register("Where")
def where(node, ctx):
    from coremltools.converters.mil import Builder as mb

    cond, a, b = _operands(node, ctx, node.inputs[:3])
    if isinstance(cond, np.ndarray):
        cond = ctx.var(node.inputs[0])
    if _cond_widens(ctx, node):
        a = _widened(ctx, node, a, cond)
    ctx.set(node, mb.select(cond=cond, a=a, b=b, name=ctx.out(node)))


def _cond_widens(ctx, node):
    """Whether the output is larger than a and b broadcast: MIL's select infers its type from a and
    b alone (coremltools 9), so a value broadcast by the condition only would get a's and b's shape."""
    a, b, out = (ctx.shape(n) for n in (node.inputs[1], node.inputs[2], node.outputs[0]))
    if a is None or b is None or out is None:
        return True
    rank = max(len(a), len(b))
    both = [1] * (rank - len(a)) + list(a), [1] * (rank - len(b)) + list(b)
    widest = [x if y == 1 else y for x, y in zip(*both)]
    return len(out) != rank or any(w == 1 and o != 1 for w, o in zip(widest, out))


def _widened(ctx, node, a, cond):
    """`a` broadcast to the condition's shape (plus zeros, or False)."""
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    a = a if not isinstance(a, np.ndarray) else mb.const(val=a, name=named(ctx, node, False))
    shape = mb.shape(x=cond, name=named(ctx, node, False))
    if a.dtype == types.bool:
        empty = mb.fill(shape=shape, value=False, name=named(ctx, node, False))
        return mb.logical_or(x=a, y=empty, name=named(ctx, node, False))
    zero = np.int32(0) if a.dtype == types.int32 else np.float32(0)
    return mb.add(x=a, y=mb.fill(shape=shape, value=zero, name=named(ctx, node, False)), name=named(ctx, node, False))


@TO_MIL.register(*LOGICAL)
def logical(node, ctx):
    from coremltools.converters.mil import Builder as mb

    a, b = _operands(node, ctx, node.inputs[:2])
    ctx.set(node, getattr(mb, LOGICAL[node.op_type])(x=a, y=b, name=ctx.out(node)))


@TO_MIL.register("Not")
def logical_not(node, ctx):
    from coremltools.converters.mil import Builder as mb

    ctx.set(node, mb.logical_not(x=ctx.var(node.inputs[0]), name=ctx.out(node)))

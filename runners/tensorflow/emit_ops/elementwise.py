"""Element-wise ops: arithmetic (Add, Sub, Mul, Div, Max, Min, Sum, Pow, Mod), comparisons, logic,
Where and unary math. Operands of the output's rank share one layout; constants are permuted to it.
"""

from ..codegen import EMIT, identity

_LAYERS = {"Add": "Add", "Mul": "Multiply", "Sub": "Subtract", "Max": "Maximum", "Min": "Minimum"}
_OPS = {
    "Add": "add",
    "Sub": "subtract",
    "Mul": "multiply",
    "Div": "divide",
    "Max": "maximum",
    "Min": "minimum",
    "Pow": "power",
    "Greater": "greater",
    "GreaterOrEqual": "greater_equal",
    "Less": "less",
    "LessOrEqual": "less_equal",
    "Equal": "equal",
    "And": "logical_and",
    "Or": "logical_or",
    "Xor": "logical_xor",
    "Where": "where",
}


def _operands(node, ctx):
    """Variables or constant expressions of the inputs, all in one layout (returned): the stored
    layout of the first computed input when every computed input has the output's rank, else
    the IR order (where numpy's broadcasting of lower-rank operands holds)."""
    names = [i for i in node.inputs if i]
    tensors = [n for n in names if ctx.const(n) is None]
    rank = ctx.rank(node.outputs[0])
    if rank is None:
        rank = max(len(ctx.any(n)[1]) for n in tensors)
    layout = identity(rank)
    if tensors and all(ctx.rank(n) == rank for n in tensors):
        layout = ctx.any(tensors[0])[1]
    out = []
    for n in names:
        if ctx.const(n) is not None:
            out.append(ctx.broadcast_const(n, rank, layout))
        else:
            out.append(ctx.x(n, layout if ctx.rank(n) == rank else None))
    return out, layout, tensors


def _binary(op):
    def convert(node, ctx):
        args, layout, tensors = _operands(node, ctx)
        shapes = [ctx.shape(n) for n in node.inputs]
        dtype = ctx.dtype(node.outputs[0])
        if len(args) == 1:  # Max / Min of one tensor is the tensor
            ctx.alias(node, args[0], layout)
        elif op == "Div" and dtype is not None and dtype.kind in "iu":
            ctx.assign(node, _integer_division(*args, signed=dtype.kind == "i"), layout)
        elif op in _LAYERS and len(tensors) == len(args) and all(s == shapes[0] for s in shapes):
            ctx.layer(node, "layers.%s()" % _LAYERS[op], args, layout)
        else:
            ctx.assign(node, "keras.ops.%s(%s)" % (_OPS[op], ", ".join(args)), layout)

    return convert


def _integer_division(a, b, signed):
    """ONNX's integer Div truncates toward zero; in integers throughout (no float round trip)."""
    if not signed:
        return "keras.ops.floor_divide(%s, %s)" % (a, b)
    return "keras.ops.sign(%s) * keras.ops.sign(%s) * keras.ops.floor_divide(keras.ops.abs(%s), keras.ops.abs(%s))" % (
        a,
        b,
        a,
        b,
    )


for _op in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
            "Equal", "And", "Or", "Xor", "Where"):  # fmt: skip
    EMIT.register(_op)(_binary(_op))


@EMIT.register("Mod")
def mod(node, ctx, fmod=0):
    args, layout, _ = _operands(node, ctx)
    if fmod:  # C's fmod: the remainder takes the dividend's sign
        a, b = args
        expr = "%s - keras.ops.trunc(%s / %s) * %s" % (a, a, b, b)
        dtype = ctx.dtype(node.outputs[0])
        if dtype is not None and dtype.kind in "iu":
            expr = "keras.ops.sign(%s) * keras.ops.mod(keras.ops.abs(%s), keras.ops.abs(%s))" % (a, a, b)
        ctx.assign(node, expr, layout)
    else:  # the remainder takes the divisor's sign, as Python's %
        ctx.assign(node, "keras.ops.mod(%s)" % ", ".join(args), layout)


@EMIT.register("Sum")
def sum_(node, ctx):
    args, layout, tensors = _operands(node, ctx)
    if len(args) == 1:
        ctx.alias(node, args[0], layout)
    elif len(tensors) == len(args):
        ctx.layer(node, "layers.Add()", args, layout)
    else:
        ctx.assign(node, " + ".join(args), layout)


_UNARY = {
    "Sqrt": "sqrt",
    "Exp": "exp",
    "Log": "log",
    "Neg": "negative",
    "Abs": "abs",
    "Reciprocal": "reciprocal",
    "Floor": "floor",
    "Ceil": "ceil",
    "Round": "round",
    "Sign": "sign",
    "Erf": "erf",
    "Sin": "sin",
    "Cos": "cos",
    "Tan": "tan",
    "Asin": "arcsin",
    "Acos": "arccos",
    "Atan": "arctan",
    "Sinh": "sinh",
    "Cosh": "cosh",
    "Asinh": "arcsinh",
    "Acosh": "arccosh",
    "Atanh": "arctanh",
    "Not": "logical_not",
    "IsNaN": "isnan",
}


def _unary(fn):
    def convert(node, ctx):
        var, layout = ctx.any(node.inputs[0])
        ctx.assign(node, "keras.ops.%s(%s)" % (fn, var), layout)

    return convert


for _op, _fn in _UNARY.items():
    EMIT.register(_op)(_unary(_fn))


@EMIT.register("Identity")
def identity_op(node, ctx):
    """Only a graph input that is also a graph output keeps its Identity in the canonical IR."""
    var, layout = ctx.any(node.inputs[0])
    ctx.alias(node, var, layout)

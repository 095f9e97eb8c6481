"""Element-wise arithmetic: Add, Sub, Mul, Div, Max, Min, Sum, Pow and unary math. Operands of equal
rank share one layout; constants are permuted to it."""

from ..codegen import EMIT, identity

_LAYERS = {"Add": "Add", "Mul": "Multiply", "Sub": "Subtract", "Max": "Maximum", "Min": "Minimum"}
_OPS = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide", "Max": "maximum", "Min": "minimum"}


def _operands(node, ctx):
    """Variables or constant expressions of the inputs, all in one layout (returned)."""
    names = [i for i in node.inputs if i]
    tensors = [n for n in names if ctx.const(n) is None]
    rank = ctx.rank(node.outputs[0]) or max(len(ctx.any(n)[1]) for n in tensors)
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
        dtype = ctx.dtypes.get(node.outputs[0])
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


for _op in ("Add", "Sub", "Mul", "Div"):
    EMIT.register(_op, since=14)(_binary(_op))
for _op in ("Max", "Min"):
    EMIT.register(_op, since=13)(_binary(_op))


@EMIT.register("Sum", since=13)
def sum_(node, ctx):
    args, layout, tensors = _operands(node, ctx)
    if len(args) == 1:
        ctx.alias(node, args[0], layout)
    elif len(tensors) == len(args):
        ctx.layer(node, "layers.Add()", args, layout)
    else:
        ctx.assign(node, " + ".join(args), layout)


@EMIT.register("Pow", since=15)
def pow_(node, ctx):
    args, layout, _ = _operands(node, ctx)
    ctx.assign(node, "keras.ops.power(%s, %s)" % tuple(args), layout)


_UNARY = {
    "Sqrt": ("sqrt", 13),
    "Exp": ("exp", 13),
    "Log": ("log", 13),
    "Neg": ("negative", 13),
    "Abs": ("abs", 13),
    "Reciprocal": ("reciprocal", 13),
    "Floor": ("floor", 13),
    "Ceil": ("ceil", 13),
    "Erf": ("erf", 13),
    "Sin": ("sin", 7),
    "Cos": ("cos", 7),
}


def _unary(fn):
    def convert(node, ctx):
        var, layout = ctx.any(node.inputs[0])
        ctx.assign(node, "keras.ops.%s(%s)" % (fn, var), layout)

    return convert


for _op, (_fn, _since) in _UNARY.items():
    EMIT.register(_op, since=_since)(_unary(_fn))


@EMIT.register("Identity", since=16)
def identity_op(node, ctx):
    var, layout = ctx.any(node.inputs[0])
    ctx.alias(node, var, layout)


@EMIT.register("Dropout", since=13)
def dropout(node, ctx, seed=0):
    var, layout = ctx.any(node.inputs[0])
    ctx.alias(node, var, layout)

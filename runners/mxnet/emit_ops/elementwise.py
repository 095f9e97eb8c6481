"""Add, Sub, Mul, Div, Pow, Mod, Max, Min, Sum, Mean; comparisons; And, Or, Xor, Not; Where.

Two-input forms only: Sum, Max, Min and Mean of more inputs are legalized into chains by the broker
(LACKS in emit.py). A bool value is held as uint8 0/1: comparisons and logical ops cast to it."""

from ..codegen import EMIT, held_shape, lit

_BINARY = {
    "Add": ("broadcast_add", "+"),
    "Sub": ("broadcast_sub", "-"),
    "Mul": ("broadcast_mul", "*"),
    "Div": ("broadcast_div", "/"),
}
_COMPARE = {
    "Greater": "broadcast_greater",
    "Less": "broadcast_lesser",
    "Equal": "broadcast_equal",
    "GreaterOrEqual": "broadcast_greater_equal",
    "LessOrEqual": "broadcast_lesser_equal",
}
_LOGICAL = {"And": "broadcast_logical_and", "Or": "broadcast_logical_or", "Xor": "broadcast_logical_xor"}


def _same_shape(ctx, name, out):
    s, o = ctx.shape(name), ctx.shape(out)
    return s is not None and o is not None and s == o and None not in s


def _binary(node, ctx, a, b, op, sym):
    """`op(a, b)`, with a Python scalar for a one-element float constant that does not widen the result."""
    out = node.outputs[0]
    if ctx.is_float(out):
        sa, sb = ctx.scalar(a), ctx.scalar(b)
        if sb is not None and sa is None and _same_shape(ctx, a, out):
            return "(%s %s %s)" % (ctx.x(a), sym, lit(float(sb)))
        if sa is not None and sb is None and _same_shape(ctx, b, out):
            return "(%s %s %s)" % (lit(float(sa)), sym, ctx.x(b))
    return ctx.call(op, ctx.x(a), ctx.x(b))


@EMIT.register(*sorted(_BINARY))
def binary(node, ctx):
    op, sym = _BINARY[node.op_type]
    ctx.assign(node, _binary(node, ctx, node.input(0), node.input(1), op, sym))


@EMIT.register("Pow")
def power(node, ctx):
    """Pow whose exponent has another dtype than the base: computed in the wider float, the result
    in the base's dtype (MXNet's broadcast_power takes one dtype)."""
    a, b = node.input(0), node.input(1)
    da, db = ctx.held_dtype(a), ctx.held_dtype(b)
    if da == db or da is None or db is None:
        ctx.assign(node, _binary(node, ctx, a, b, "broadcast_power", "**"))
        return
    if ctx.is_float(a) and not ctx.is_float(b):
        ctx.assign(node, ctx.call("broadcast_power", ctx.x(a), ctx.call("cast", ctx.x(b), dtype=da)))
        return
    wide = "float64"
    base, exp = ctx.call("cast", ctx.x(a), dtype=wide), ctx.call("cast", ctx.x(b), dtype=wide)
    ctx.assign(node, ctx.call("cast", ctx.call("broadcast_power", base, exp), dtype=da))


@EMIT.register("Mod")
def mod(node, ctx, fmod=0):
    """MXNet's broadcast_mod takes the divisor's sign (ONNX fmod=0); fmod=1 takes the dividend's:
    a nonzero remainder whose sign differs from the dividend's is moved by the divisor."""
    a, b = ctx.x(node.input(0)), ctx.x(node.input(1))
    if not fmod:
        ctx.assign(node, ctx.call("broadcast_mod", a, b))
        return
    r = ctx.temp(ctx.call("broadcast_mod", a, b), "rem")
    flipped = ctx.call("broadcast_not_equal", ctx.call("sign", r), ctx.call("sign", a))
    wrong = ctx.temp(ctx.call("broadcast_logical_and", "(%s != 0)" % r, flipped), "wrong")
    shift = ctx.temp(ctx.call("broadcast_sub", r, b), "shift")
    ctx.assign(node, ctx.call("where", wrong, shift, r))


@EMIT.register(*sorted(_COMPARE))
def compare(node, ctx):
    expr = ctx.call(_COMPARE[node.op_type], ctx.x(node.input(0)), ctx.x(node.input(1)))
    ctx.assign(node, ctx.as_bool(expr))


@EMIT.register(*sorted(_LOGICAL))
def logical(node, ctx):
    expr = ctx.call(_LOGICAL[node.op_type], ctx.x(node.input(0)), ctx.x(node.input(1)))
    ctx.assign(node, ctx.as_bool(expr))


@EMIT.register("Not")
def logical_not(node, ctx):
    ctx.assign(node, ctx.as_bool(ctx.call("logical_not", ctx.x(node.input(0)))))


def _pairwise(node, ctx, op):
    xs = [i for i in node.inputs if i]
    if len(xs) == 1:
        return ctx.call("identity", ctx.x(xs[0]))
    if len(xs) != 2:
        raise ctx.fail("%s of %d inputs reached the MXNet emitter; the broker legalizes it into pairs (%s.variadic)"
                       % (node.op_type, len(xs), node.op_type), reference="internal-bug")  # fmt: skip
    return ctx.call(op, ctx.x(xs[0]), ctx.x(xs[1]))


@EMIT.register("Max")
def maximum(node, ctx):
    ctx.assign(node, _pairwise(node, ctx, "broadcast_maximum"))


@EMIT.register("Min")
def minimum(node, ctx):
    ctx.assign(node, _pairwise(node, ctx, "broadcast_minimum"))


@EMIT.register("Sum")
def sum_(node, ctx):
    ctx.assign(node, _pairwise(node, ctx, "broadcast_add"))


@EMIT.register("Mean")
def mean(node, ctx):
    count = len([i for i in node.inputs if i])
    if count == 1:
        ctx.assign(node, _pairwise(node, ctx, "broadcast_add"))
        return
    total = ctx.temp(_pairwise(node, ctx, "broadcast_add"), "sum")
    ctx.assign(node, "(%s / %s)" % (total, lit(float(count))))


@EMIT.register("Where")
def where(node, ctx):
    """MXNet's where takes three arrays of one shape: each is broadcast to the output's."""
    shape = list(held_shape(ctx.need_shape(node.outputs[0])))
    xs = []
    for name in node.inputs:
        src = ctx.x(name)
        s = list(held_shape(ctx.need_shape(name)))
        if s != shape:
            if len(s) < len(shape):
                src = ctx.call("reshape", src, shape=tuple([1] * (len(shape) - len(s)) + s))
            src = ctx.temp(ctx.call("broadcast_to", src, shape=tuple(shape)), "b")
        xs.append(src)
    ctx.assign(node, ctx.call("where", *xs))

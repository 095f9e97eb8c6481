"""Gemm (its fully connected form: the broker legalizes Gemm.general), MatMul."""

from ..codegen import EMIT, held_shape


@EMIT.register("Gemm")
def gemm(node, ctx, alpha=1.0, beta=1.0, transA=0, transB=0):
    a, b, c = node.input(0), node.input(1), node.input(2)
    if transA or alpha != 1.0 or beta != 1.0 or ctx.const(b) is None:
        raise ctx.fail("Gemm in its general form reached the MXNet emitter; the broker legalizes it (Gemm.general)",
                       reference="internal-bug")  # fmt: skip
    bval = ctx.const(b)
    weight = bval if transB else bval.T.copy()
    w = ctx.param(b if transB else b + "_t", weight)
    units = weight.shape[0]
    cval = ctx.const(c)
    bias = None
    if cval is not None and (cval.size == 1 or cval.size == units and cval.shape[-1] == units):
        bias = ctx.param(c + "_bias", (cval.reshape(-1) if cval.size == units else cval.reshape(-1).repeat(units)))
    args = [ctx.x(a), w] + ([bias] if bias else [])
    expr = ctx.call("FullyConnected", *args, num_hidden=units, no_bias=True if bias is None else None)
    if c and bias is None:  # a bias per row (M x N) or computed at run time
        expr = ctx.call("broadcast_add", ctx.temp(expr, "ab"), ctx.x(c))
    ctx.assign(node, expr)


@EMIT.register("MatMul")
def matmul(node, ctx):
    """dot for a 2-D right side; batch_dot over the batch axes (broadcast, then flattened to one)."""
    a, b = node.input(0), node.input(1)
    sa, sb = ctx.need_shape(a), ctx.need_shape(b)
    out = ctx.need_shape(node.outputs[0])
    xa, xb = ctx.x(a), ctx.x(b)
    held = ctx.held_dtype(a)
    wide = {"float16": "float32", "float32": None, "float64": None}.get(held, "float64")
    if wide:  # MXNet's CPU dot takes float32/64 only: float16 and integers are computed wider
        xa, xb = ctx.call("cast", xa, dtype=wide), ctx.call("cast", xb, dtype=wide)
    if len(sa) == 1:
        xa, sa = ctx.temp(ctx.call("reshape", xa, shape=(1, sa[0])), "row"), [1, sa[0]]
    if len(sb) == 1:
        xb, sb = ctx.temp(ctx.call("reshape", xb, shape=(sb[0], 1)), "col"), [sb[0], 1]
    if len(sb) == 2:
        expr = ctx.call("dot", xa, xb)
    else:
        rank = max(len(sa), len(sb))
        batch = [max(p, q) for p, q in zip([1] * (rank - len(sa)) + sa[:-2], [1] * (rank - len(sb)) + sb[:-2])]
        n = 1
        for d in batch:
            n *= d
        flat = []
        for x, s in ((xa, sa), (xb, sb)):
            full = batch + s[-2:]
            if [1] * (len(full) - len(s)) + s != full:
                x = ctx.temp(ctx.call("broadcast_to", ctx.call("reshape", x, shape=tuple([1] * (len(full) - len(s))
                                                                                             + s)), shape=tuple(full)),
                             "bcast")  # fmt: skip
            flat.append(ctx.temp(ctx.call("reshape", x, shape=(n,) + tuple(s[-2:])), "flat"))
        expr = ctx.call("batch_dot", flat[0], flat[1])
    if ctx.static_shape(node.outputs[0]) is not None:
        expr = ctx.call("reshape", ctx.temp(expr, "prod"), shape=held_shape(out))
    if wide:
        expr = ctx.call("cast", expr, dtype=held)
    ctx.assign(node, expr)


@EMIT.register("Det")
def det(node, ctx):
    """MXNet's det has hidden outputs (its first output is named `<name>_output0`): the value is
    passed through identity, so the output keeps the IR value's name."""
    ctx.need_float(node.input(0), "linalg.det")
    ctx.assign(node, ctx.call("identity", ctx.temp(ctx.call("linalg.det", ctx.x(node.input(0))), "det")))

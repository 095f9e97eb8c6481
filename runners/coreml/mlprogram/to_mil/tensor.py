"""Element-wise arithmetic, concatenation, shape and layout ops as MIL ops."""

import numpy as np

from ..common import TO_MIL

BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "real_div", "Max": "maximum", "Min": "minimum"}


def _operand(ctx, name):
    value = ctx.x(name)
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        value = value.astype(np.float32)
    return value


def _binary(node, ctx):
    from coremltools.converters.mil import Builder as mb

    a, b = (_operand(ctx, n) for n in node.inputs[:2])
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        raise ctx.fail("an operation on two constants should have been folded")
    ctx.set(node, getattr(mb, BINARY[node.op])(x=a, y=b, name=ctx.out(node)))


@TO_MIL.register("Add", "Sub", "Mul", "Div", since=14)
def arithmetic(node, ctx):
    _binary(node, ctx)


@TO_MIL.register("Max", since=13)
def max_(node, ctx):
    if len(node.inputs) != 2:
        raise ctx.fail("Max of %d inputs is converted for two inputs only" % len(node.inputs))
    _binary(node, ctx)


@TO_MIL.register("Min", since=13)
def min_(node, ctx):
    if len(node.inputs) != 2:
        raise ctx.fail("Min of %d inputs is converted for two inputs only" % len(node.inputs))
    _binary(node, ctx)


@TO_MIL.register("Sum", since=13)
def sum_(node, ctx):
    from coremltools.converters.mil import Builder as mb

    total = ctx.var(node.inputs[0])
    for i, name in enumerate(node.inputs[1:], 1):
        last = i == len(node.inputs) - 1
        total = mb.add(x=total, y=_operand(ctx, name), name=ctx.out(node) if last else None)
    ctx.set(node, total)


@TO_MIL.register("Concat", since=13)
def concat(node, ctx, axis=0):
    from coremltools.converters.mil import Builder as mb

    values = [ctx.var(n) for n in node.inputs if n]
    ctx.set(node, mb.concat(values=values, axis=int(axis), interleave=False, name=ctx.out(node)))


def _static_reshape(node, ctx):
    from coremltools.converters.mil import Builder as mb

    shape = ctx.need_shape(node.outputs[0])
    ctx.set(node, mb.reshape(x=ctx.var(node.inputs[0]), shape=np.array(shape, np.int32), name=ctx.out(node)))


@TO_MIL.register("Reshape", "Flatten", "Squeeze", "Unsqueeze", since=13)
def reshape(node, ctx, allowzero=0, axis=1):
    """Every reshape-like op becomes a reshape to the (static) output shape."""
    _static_reshape(node, ctx)


@TO_MIL.register("Transpose", since=13)
def transpose(node, ctx, perm=None):
    from coremltools.converters.mil import Builder as mb

    rank = len(ctx.need_shape(node.inputs[0]))
    perm = list(perm) if perm is not None else list(reversed(range(rank)))
    ctx.set(node, mb.transpose(x=ctx.var(node.inputs[0]), perm=perm, name=ctx.out(node)))


@TO_MIL.register("Constant", since=13)
def constant(node, ctx, **attrs):
    from ...emit import _constant

    ctx.consts[node.outputs[0]] = _constant(attrs)


@TO_MIL.register("Identity", since=16)
def identity(node, ctx):
    ctx.alias(node, node.inputs[0])


@TO_MIL.register("Dropout", since=13)
def dropout(node, ctx, seed=None):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("Dropout's mask output has no MIL equivalent")
    ctx.alias(node, node.inputs[0])


@TO_MIL.register("Pad", since=18)
def pad(node, ctx, mode="constant"):
    from coremltools.converters.mil import Builder as mb

    mode = mode.decode() if isinstance(mode, bytes) else mode
    rank = len(ctx.need_shape(node.inputs[0]))
    pads = ctx.const(node.input(1))
    if pads is None:
        raise ctx.fail("the pads must be constants")
    axes = ctx.const(node.input(3)) if node.input(3) else None
    axes = [int(a) % rank for a in axes] if axes is not None else list(range(rank))
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begins[a], ends[a] = int(pads[i]), int(pads[len(axes) + i])
    if min(begins + ends) < 0:
        raise ctx.fail("negative pads (cropping) are not converted")
    mil_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if mil_mode is None:
        raise ctx.fail("pad mode %s has no MIL equivalent" % mode)
    value = ctx.const(node.input(2)) if node.input(2) else None
    widths = []
    for b, e in zip(begins, ends):
        widths += [b, e]
    out = mb.pad(
        x=ctx.var(node.inputs[0]),
        pad=np.array(widths, np.int32),
        mode=mil_mode,
        constant_val=np.float32(0.0 if value is None else value),
        name=ctx.out(node),
    )
    ctx.set(node, out)


def _reduce(node, ctx, fn, keepdims):
    from coremltools.converters.mil import Builder as mb

    rank = len(ctx.need_shape(node.inputs[0]))
    axes = ctx.const(node.input(1)) if node.input(1) else None
    if node.input(1) and axes is None:
        raise ctx.fail("the reduction axes must be constants")
    axes = sorted(int(a) % rank for a in (axes if axes is not None else range(rank)))
    op = getattr(mb, fn)
    ctx.set(node, op(x=ctx.var(node.inputs[0]), axes=axes, keep_dims=bool(keepdims), name=ctx.out(node)))


@TO_MIL.register("ReduceMean", since=18)
def reduce_mean(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "reduce_mean", keepdims)


@TO_MIL.register("ReduceMax", since=18)
def reduce_max(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "reduce_max", keepdims)


@TO_MIL.register("ReduceSum", since=13)
def reduce_sum(node, ctx, keepdims=1, noop_with_empty_axes=0):
    _reduce(node, ctx, "reduce_sum", keepdims)

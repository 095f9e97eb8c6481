"""Recurrent cells -> ONNX recurrent ops: `C.layers.Recurrence(C.layers.LSTM(n))` (or GRU), the cell
a block whose state inputs are PastValue (forward) or FutureValue (backward, go_backwards) of its
own outputs, becomes one ONNX LSTM/GRU over the sequence axis (the IR's axis 1, after the batch);
`C.sequence.first/last` become a Gather on that axis.

CNTK's LSTM cell stacks its gates i, c, f, o (ONNX: i, o, f, c) in W [input, 4n], H [n, 4n], b [4n];
its GRU cell z, r in H [n, 2n], the candidate's recurrent weights apart in H1 [n, n], and resets
the state before the recurrent product (ONNX's linear_before_reset=0). Cells with peepholes,
self-stabilization, a projection or other activations than the default are refused."""

import numpy as np

from .. import loading
from ..parse import PARSE

# ops of the default cells' inner functions (measured on CNTK 2.7)
CELL_OPS = set(["Combine", "ElementTimes", "Minus", "Plus", "Slice", "StableSigmoid", "Sigmoid", "Tanh", "Times"])
CNTK_TO_ONNX = {"LSTM": [0, 3, 2, 1], "GRU": [0, 1, 2]}  # ONNX gate k is CNTK gate [k]


def _inner_ops(fn):
    C = loading.import_cntk()
    found = C.logging.graph.depth_first_search(fn.block_root, lambda f: isinstance(f, C.Function), depth=-1)
    return set(f.op_name for f in found if not f.is_block)


def _cell(node, ctx, kind):
    params, x, steps = {}, None, set()
    for name, var, state in zip(node.inputs, node.input_vars, node.states):
        if state is not None:
            op, offset, initial = state
            if offset != 1 or initial is None or np.any(initial != 0):
                raise ctx.fail("a %s whose state starts from a non-zero value or steps by %d" % (kind, offset))
            steps.add(op)
        elif var.is_parameter:
            params[var.name] = np.asarray(ctx.const(name), np.float32)
        elif not var.is_constant:
            if x is not None:
                raise ctx.fail("a %s cell with two data inputs" % kind)
            x = name
    other = _inner_ops(node.fn) - CELL_OPS
    if other or len(steps) != 1:
        raise ctx.fail("a %s cell with %s (only the default cell converts)"
                       % (kind, ", ".join(sorted(other)) if other else "mixed state directions"))  # fmt: skip
    if x not in ctx.flat.sequenced:
        raise ctx.fail("a %s cell over a value without a sequence axis" % kind)
    return params, x, "reverse" if steps == set(["FutureValue"]) else "forward"


def _used(ctx, name):
    return name in ctx.flat.outputs or any(name in n.inputs for n in ctx.flat.nodes)


def _stacked(value, kind, hidden, axis):
    blocks = np.split(value, value.shape[axis] // hidden, axis=axis)
    return np.concatenate([blocks[k] for k in CNTK_TO_ONNX[kind]], axis=axis)


@PARSE.register("LSTM", "GRU")
def recurrent(node, ctx):
    kind = node.op
    params, x, direction = _cell(node, ctx, kind)
    expected = ["W", "H", "b"] + (["H1"] if kind == "GRU" else [])
    if sorted(params) != sorted(expected):
        raise ctx.fail("a %s cell with parameters %s (the default cell has %s)" % (kind, sorted(params), expected))
    w, h, b = params["W"], params["H"], params["b"]
    hidden = h.shape[0]
    if kind == "LSTM":
        if w.shape[1] != 4 * hidden or h.shape[1] != 4 * hidden:
            raise ctx.fail("an LSTM with a projection (state %d, cell %d)" % (hidden, h.shape[1] // 4))
        r = _stacked(h, kind, hidden, 1).T
    else:
        r = np.concatenate([h, params["H1"]], axis=1).T
    if kind == "LSTM" and len(node.outputs) > 1 and _used(ctx, node.outputs[1]):
        raise ctx.fail("an LSTM whose cell state sequence is read; ONNX's LSTM gives the last cell state only")
    W = ctx.add_const("W", _stacked(w, kind, hidden, 1).T[None])
    R = ctx.add_const("R", r[None])
    B = ctx.add_const("B", np.concatenate([_stacked(b, kind, hidden, 0), np.zeros_like(b)])[None])
    batch, length = ctx.shape(x)[:2]
    extra = {"linear_before_reset": 0} if kind == "GRU" else {}
    # ONNX's default layout (onnxruntime runs no other): [seq, batch, ...] in, [seq, dirs, batch, n] out
    steps = ctx.add("Transpose", [x], shape=[length, batch] + ctx.shape(x)[2:], perm=[1, 0, 2])
    y = ctx.add(kind, [steps, W, R, B], shape=[length, 1, batch, hidden], hidden_size=hidden, direction=direction,
                **extra)  # fmt: skip
    y = ctx.add("Transpose", [y], shape=[batch, length, 1, hidden], perm=[2, 0, 1, 3])
    ctx.add("Reshape", [y, ctx.ints("shape", [batch, length, hidden])], node.outputs[:1])


@PARSE.register("Sequence::Slice")
def sequence_slice(node, ctx):
    """C.sequence.last (its inner function looks ahead: FutureValue) or first (PastValue)."""
    x = node.inputs[-1]
    if x not in ctx.flat.sequenced:
        raise ctx.fail("a sequence slice of a value without a sequence axis")
    ops = _inner_ops(node.fn)
    if ("FutureValue" in ops) == ("PastValue" in ops):
        raise ctx.fail("a sequence slice other than C.sequence.first or C.sequence.last")
    at = ctx.length - 1 if "FutureValue" in ops else 0
    ctx.add("Gather", [x, ctx.add_const("index", np.array(at, np.int64), np.int64)], node.outputs, axis=1)

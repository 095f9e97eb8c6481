"""MIL lstm, gru and rnn -> ONNX LSTM, GRU and RNN (one node per op, not unrolled).

The inverse of the writer's mapping (see emit_ops/recurrent.py for what MIL's ops compute): gate
blocks put back in ONNX's order, MIL's one bias as ONNX's input bias (the recurrence bias zero),
states [batch, directions * hidden] as ONNX's [directions, batch, hidden], and a reverse op's
sequence, which MIL gives in the order it ran, reversed from ONNX's position order."""

import numpy as np

from ..common import FROM_MIL

ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "hard_sigmoid": "HardSigmoid"}
# MIL gate blocks in ONNX's order: lstm ifoc -> iofc, gru r h z -> zrh, rnn as it is
ORDER = {"lstm": [0, 2, 1, 3], "gru": [2, 0, 1], "rnn": [0]}
PEEPHOLE_ORDER = [0, 2, 1]  # MIL i, f, o -> ONNX i, o, f


def _reorder(w, order):
    blocks = np.split(np.asarray(w, np.float32), len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _activations(op, ctx, keys):
    out = []
    for key, default in keys:
        name = str(ctx.val(op, key, default))
        if name not in ACTIVATIONS:
            raise ctx.fail("%s with %s %s is not translated" % (op.op_type, key, name))
        out.append(ACTIVATIONS[name])
    return out


def _weights(op, ctx, suffix=""):
    """(W, R, B) of one direction in ONNX's order, B = [MIL's bias, zeros]."""
    order = ORDER[op.op_type]
    w = _reorder(ctx.val(op, "weight_ih" + suffix), order)
    r = _reorder(ctx.val(op, "weight_hh" + suffix), order)
    bias = ctx.val(op, "bias" + suffix)
    b = np.zeros(w.shape[0], np.float32) if bias is None else _reorder(bias, order)
    return w, r, np.concatenate([b, np.zeros_like(b)])


def _state_in(op, ctx, key, directions, hidden):
    """MIL [batch, directions * hidden] -> ONNX [directions, batch, hidden]."""
    out = ctx.out(op) + "__" + key
    shape = ctx.const(out + "__shape", np.array([0, directions, hidden], np.int64))
    split = ctx.node("Reshape", [ctx.input(op, key), shape], [out + "__split"])
    return ctx.node("Transpose", [split], [out], perm=[1, 0, 2])


def _state_out(op, ctx, onnx_state, i, directions, hidden):
    """ONNX [directions, batch, hidden] -> MIL [batch, directions * hidden] (op output i)."""
    out = ctx.out(op, i)
    moved = ctx.node("Transpose", [onnx_state], [out + "__batch_first"], perm=[1, 0, 2])
    ctx.node("Reshape", [moved, ctx.const(out + "__shape", np.array([0, directions * hidden], np.int64))], [out])


def _reverse_steps(ctx, name, out):
    big = np.iinfo(np.int64).max
    inputs = [name, ctx.const(out + "__starts", np.array([-1], np.int64)),
              ctx.const(out + "__ends", np.array([-big], np.int64)), ctx.const(out + "__axes", np.array([0], np.int64)),
              ctx.const(out + "__steps", np.array([-1], np.int64))]  # fmt: skip
    return ctx.node("Slice", inputs, [out])


def _translate(op, ctx, onnx_op, activations, extra_inputs=(), **attrs):
    """The ONNX node for a MIL recurrent op and MIL's outputs made from ONNX's."""
    direction = str(ctx.val(op, "direction", "forward"))
    directions = 2 if direction == "bidirectional" else 1
    suffixes = [""] + (["_back"] if directions == 2 else [])
    parts = [_weights(op, ctx, s) for s in suffixes]
    hidden = parts[0][1].shape[1]
    out = ctx.out(op)
    inits = [ctx.const(out + "__" + k, np.stack([p[i] for p in parts])) for i, k in enumerate(("W", "R", "B"))]
    states = [_state_in(op, ctx, key, directions, hidden) for key in ("initial_h", "initial_c")[: len(op.outputs) - 1]]
    inputs = [ctx.input(op, "x")] + inits + [""] + states[:1] + list(states[1:]) + list(extra_inputs)
    outputs = [out + "__Y"] + [out + "__Y_h", out + "__Y_c"][: len(op.outputs) - 1]
    ctx.node(onnx_op, inputs, outputs, name=out + "__" + onnx_op, direction=direction, hidden_size=int(hidden),
             activations=activations * directions, **attrs)  # fmt: skip
    for i, state in enumerate(outputs[1:], 1):
        _state_out(op, ctx, state, i, directions, hidden)
    if not bool(ctx.val(op, "output_sequence", False)):
        ctx.node("Unsqueeze", [ctx.out(op, 1), ctx.const(out + "__axis0", np.array([0], np.int64))], [out])
        return
    seq = ctx.node("Transpose", [outputs[0]], [out + "__batch_first"], perm=[0, 2, 1, 3])
    shape = ctx.const(out + "__seq_shape", np.array([0, 0, directions * hidden], np.int64))
    if direction == "reverse":
        seq = ctx.node("Reshape", [seq, shape], [out + "__positions"])
        _reverse_steps(ctx, seq, out)
    else:
        ctx.node("Reshape", [seq, shape], [out])


@FROM_MIL.register("lstm")
def lstm(op, ctx):
    if ctx.val(op, "clip") is not None:
        raise ctx.fail("lstm with a cell clip is not translated (ONNX's LSTM clips the gates' inputs)")
    acts = _activations(op, ctx, [("recurrent_activation", "sigmoid"), ("cell_activation", "tanh"),
                                  ("activation", "tanh")])  # fmt: skip
    extra = []
    if ctx.val(op, "peephole") is not None:
        p = [_reorder(ctx.val(op, "peephole"), PEEPHOLE_ORDER)]
        if str(ctx.val(op, "direction", "forward")) == "bidirectional":
            back = ctx.val(op, "peephole_back")
            p.append(np.zeros_like(p[0]) if back is None else _reorder(back, PEEPHOLE_ORDER))
        extra = [ctx.const(ctx.out(op) + "__P", np.stack(p))]
    _translate(op, ctx, "LSTM", acts, extra)


@FROM_MIL.register("gru")
def gru(op, ctx):
    if ctx.val(op, "reset_after", False) or ctx.val(op, "input_bias") is not None:
        raise ctx.fail("gru with reset_after / input_bias (iOS 18) is not translated")
    acts = _activations(op, ctx, [("recurrent_activation", "sigmoid"), ("activation", "tanh")])
    _translate(op, ctx, "GRU", acts, linear_before_reset=0)


@FROM_MIL.register("rnn")
def rnn(op, ctx):
    _translate(op, ctx, "RNN", _activations(op, ctx, [("activation", "tanh")]))

"""LSTM, GRU, RNN as MXNet's fused RNN operator (one layer, either direction or both).

MXNet's RNN takes one flat parameter vector: the input and recurrent weights of each direction,
then their biases, with its own gate order (LSTM i f c o, GRU r z n); ONNX's (LSTM i o f c, GRU
z r h) are reordered here. A reverse-only layer runs forward on the reversed sequence. MXNet's GRU
applies the reset gate after the recurrent product: ONNX's linear_before_reset=1."""

import numpy as np

from ..codegen import EMIT

# ONNX gate -> position in MXNet's order
GATES = {"LSTM": (4, [0, 2, 3, 1]), "GRU": (3, [1, 0, 2]), "RNN": (1, [0])}


def _check(node, ctx, kind, activations, activation_alpha, activation_beta, clip, extra_refusals):
    if activation_alpha or activation_beta or clip is not None:
        raise ctx.fail("%s with activation_alpha/beta or clip has no MXNet RNN equivalent" % kind)
    for what, refused in extra_refusals:
        if refused:
            raise ctx.fail("%s with %s has no MXNet RNN equivalent" % (kind, what))
    lens = ctx.const(node.input(4)) if node.input(4) else None
    if node.input(4) and (lens is None or np.any(lens != ctx.need_shape(node.input(0))[0])):
        raise ctx.fail("%s with sequence_lens shorter than the sequence is not converted to MXNet" % kind)


def _reordered(kind, value, hidden):
    """Gate blocks of a constant [G*H, ...] array in MXNet's order."""
    count, order = GATES[kind]
    blocks = [value[g * hidden : (g + 1) * hidden] for g in range(count)]
    return np.concatenate([blocks[g] for g in order], axis=0)


def _flat_params(node, ctx, kind, hidden, dirs):
    """The flat parameter vector: a constant when W, R and B are, else computed in the graph."""
    count, order = GATES[kind]
    w, r, b = node.input(1), node.input(2), node.input(3)
    cw, cr = ctx.const(w), ctx.const(r)
    cb = ctx.const(b) if b else np.zeros((dirs, 2 * count * hidden), dtype=ctx.dtype(w) or np.float32)
    if cw is not None and cr is not None and cb is not None:
        weights, biases = [], []
        for d in range(dirs):
            weights += [_reordered(kind, cw[d], hidden).reshape(-1), _reordered(kind, cr[d], hidden).reshape(-1)]
            half = count * hidden
            biases += [_reordered(kind, cb[d][:half], hidden), _reordered(kind, cb[d][half:], hidden)]
        return ctx.param(node.outputs[0] + "_rnn_params", np.concatenate(weights + biases))
    parts = {"w": [], "b": []}
    for d in range(dirs):
        for name, key, offset in ((w, "w", 0), (r, "w", 0), (b, "b", 0), (b, "b", count * hidden)):
            if not name:
                continue
            one = ctx.call("slice_axis", ctx.x(name), axis=0, begin=d, end=d + 1)
            flat = ctx.temp(ctx.call("reshape", one, shape=(-1,) if key == "b" else (count * hidden, -1)), "dir")
            if key == "b":
                flat = ctx.call("slice_axis", flat, axis=0, begin=offset, end=offset + count * hidden)
            gates = [ctx.call("slice_axis", flat, axis=0, begin=g * hidden, end=(g + 1) * hidden) for g in order]
            parts[key].append(ctx.call("reshape", ctx.call("concat", *gates, dim=0), shape=(-1,)))
    if not b:
        zeros = np.zeros(2 * dirs * count * hidden, dtype=ctx.dtype(w) or np.float32)
        parts["b"].append(ctx.param(node.outputs[0] + "_rnn_bias", zeros))
    return ctx.temp(ctx.call("concat", *(parts["w"] + parts["b"]), dim=0), "params")


def _rnn(node, ctx, kind, mode, hidden_size, direction, layout):
    x = node.input(0)
    shape = ctx.need_shape(x)
    dirs = 2 if direction == "bidirectional" else 1
    hidden = int(hidden_size)
    src = ctx.x(x)
    if layout:
        src = ctx.temp(ctx.call("swapaxes", src, dim1=0, dim2=1), "tnc")
    steps, batch = (shape[1], shape[0]) if layout else (shape[0], shape[1])
    if direction == "reverse":
        src = ctx.temp(ctx.call("reverse", src, axis=0), "reversed")
    states = []
    for i in (5, 6) if kind == "LSTM" else (5,):
        if node.input(i):
            states.append(ctx.x(node.input(i)))
        else:
            states.append(ctx.call("zeros", shape=(dirs, batch, hidden), dtype=ctx.held_dtype(x)))
    out = ctx.temp(ctx.call("RNN", src, _flat_params(node, ctx, kind, hidden, dirs), *states, state_size=hidden,
                            num_layers=1, bidirectional=dirs == 2, mode=mode, state_outputs=True), "rnn")  # fmt: skip
    outputs = list(node.outputs) + [""] * 3
    if outputs[0]:
        y = ctx.call("reshape", "%s[0]" % out, shape=(steps, batch, dirs, hidden))
        if direction == "reverse":
            y = ctx.call("reverse", y, axis=0)
        ctx.assign(node, ctx.call("transpose", y, axes=(1, 0, 2, 3) if layout else (0, 2, 1, 3)), output=outputs[0])
    for k in (1, 2):
        if outputs[k]:
            state = "%s[%d]" % (out, k)
            expr = ctx.call("swapaxes", state, dim1=0, dim2=1) if layout else ctx.call("identity", state)
            ctx.assign(node, expr, output=outputs[k])


@EMIT.register("LSTM")
def lstm(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
         hidden_size=None, input_forget=0, layout=0):  # fmt: skip
    peepholes = ctx.const(node.input(7)) if node.input(7) else None
    _check(node, ctx, "LSTM", activations, activation_alpha, activation_beta, clip, [
        ("input_forget", input_forget),
        ("activations other than Sigmoid, Tanh, Tanh", activations and list(activations) != ["Sigmoid", "Tanh", "Tanh"]
         * (len(activations) // 3)),
        ("peepholes", node.input(7) and (peepholes is None or np.any(peepholes != 0))),
    ])  # fmt: skip
    _rnn(node, ctx, "LSTM", "lstm", hidden_size, direction, layout)


@EMIT.register("GRU")
def gru(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0, linear_before_reset=0):  # fmt: skip
    _check(node, ctx, "GRU", activations, activation_alpha, activation_beta, clip, [
        ("linear_before_reset=0 (MXNet's GRU resets after the recurrent product)", not linear_before_reset),
        ("activations other than Sigmoid, Tanh", activations and list(activations) != ["Sigmoid", "Tanh"]
         * (len(activations) // 2)),
    ])  # fmt: skip
    _rnn(node, ctx, "GRU", "gru", hidden_size, direction, layout)


@EMIT.register("RNN")
def rnn(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0):  # fmt: skip
    acts = list(activations or ["Tanh"])
    if len(set(acts)) != 1 or acts[0] not in ("Tanh", "Relu"):
        raise ctx.fail("RNN with activations %s has no MXNet RNN equivalent" % acts)
    _check(node, ctx, "RNN", None, activation_alpha, activation_beta, clip, [])
    _rnn(node, ctx, "RNN", "rnn_tanh" if acts[0] == "Tanh" else "rnn_relu", hidden_size, direction, layout)

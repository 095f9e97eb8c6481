"""LSTM -> Caffe's LSTM layer, one per direction (a backward direction runs on the sequence reversed
by Slice + Concat, its output reversed back); GRU and RNN are refused with the reason.

Caffe's LSTM reads X [seq, batch, input] (ONNX's default layout) and a sequence-continuation blob
[seq, batch] (0 where a sequence starts), given here as a constant; it holds W_xc [4H, input], b_c
[4H] and W_hc [4H, H] with its gates ordered i, f, o, g (ONNX: i, o, f, c) and starts from zero
states; its top is the hidden state of every step."""

import numpy as np

from ..emit import EMIT
from ._common import crop, reshape, take

ONNX_TO_CAFFE = [0, 2, 1, 3]  # Caffe's gate k is ONNX's gate ONNX_TO_CAFFE[k]


@EMIT.register("LSTM")
def lstm(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
         hidden_size=None, input_forget=0, layout=0):  # fmt: skip
    dirs = 2 if direction == "bidirectional" else 1
    if activations and [a.decode() if isinstance(a, bytes) else a for a in activations] != ["Sigmoid", "Tanh",
                                                                                          "Tanh"] * dirs:  # fmt: skip
        raise ctx.fail("LSTM with activations %s; Caffe's LSTM layer computes sigmoid and tanh" % list(activations))
    if activation_alpha or activation_beta or clip is not None or input_forget:
        raise ctx.fail("LSTM with activation_alpha/beta, clip or input_forget; Caffe's LSTM layer has none")
    if layout:
        raise ctx.fail("LSTM with layout=1 ([batch, seq, input]); Caffe's LSTM layer reads [seq, batch, input]")
    for i, what in ((5, "initial_h"), (6, "initial_c"), (7, "peepholes (P)")):
        value = ctx.const(node.input(i)) if node.input(i) else None
        if node.input(i) and (value is None or np.any(value)):
            raise ctx.fail("LSTM with %s; Caffe's LSTM layer starts from zero states and has no peepholes" % what)
    if node.outputs[2:3] not in ([], [""]):
        raise ctx.fail("LSTM's cell state output Y_c; Caffe's LSTM layer gives the hidden states only")
    x = node.inputs[0]
    seq, batch, size = ctx.need_shape(x)
    if node.input(4) and np.any(ctx.need_const(node, 4, "the sequence lengths") != seq):
        raise ctx.fail("LSTM with sequence_lens shorter than the sequence; Caffe's sequences have one length")
    w, r = ctx.need_const(node, 1, "the input weights"), ctx.need_const(node, 2, "the recurrent weights")
    hidden = int(hidden_size or r.shape[-1])
    b = ctx.need_const(node, 3, "the biases") if node.input(3) else np.zeros((dirs, 8 * hidden), np.float32)
    cont = np.ones((seq, batch), np.float32)
    cont[0] = 0.0
    cont = ctx.parameter(cont, ctx.temp("continuation"))
    order = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in ONNX_TO_CAFFE])
    steps = []
    for d in range(dirs):
        backward = direction == "reverse" or d == 1
        tag = "backward" if backward else "forward"
        xs = ctx.blob(x)
        if backward:
            xs = take(ctx, xs, [seq, batch, size], 0, range(seq - 1, -1, -1), ctx.temp("reversed_input"))
        top = ctx.temp(tag)
        layer = ctx.layer("LSTM", [xs, cont], [top], name="%s_%s" % (node.name, tag))
        layer.recurrent_param.num_output = hidden
        ctx.add_blob(layer, w[d][order])
        ctx.add_blob(layer, (b[d, : 4 * hidden] + b[d, 4 * hidden :])[order])
        ctx.add_blob(layer, r[d][order])
        if backward:
            top = take(ctx, top, [seq, batch, hidden], 0, range(seq - 1, -1, -1), ctx.temp("backward_steps"))
        steps.append(top)
    _outputs(node, ctx, steps, seq, batch, hidden, direction)


def _outputs(node, ctx, steps, seq, batch, hidden, direction):
    """Y [seq, dirs, batch, hidden] and Y_h [dirs, batch, hidden] from each direction's [seq, batch,
    hidden] hidden states (Y_h: the last step taken, the first for a backward direction)."""
    outs = list(node.outputs) + ["", ""]
    if outs[0]:
        if len(steps) == 1:
            reshape(ctx, steps[0], [seq, 1, batch, hidden], outs[0])
        else:
            parts = [reshape(ctx, s, [seq, 1, batch, hidden], ctx.temp("steps%d" % d)) for d, s in enumerate(steps)]
            ctx.layer("Concat", parts, [outs[0]]).concat_param.axis = 1
    if outs[1]:
        finals = []
        for d, s in enumerate(steps):
            at = 0 if direction == "reverse" or d == 1 else seq - 1
            finals.append(crop(ctx, s, [seq, batch, hidden], [(0, at, at + 1)], ctx.temp("final%d" % d)))
        if len(finals) == 1:
            reshape(ctx, finals[0], [1, batch, hidden], outs[1])
        else:
            ctx.layer("Concat", finals, [outs[1]]).concat_param.axis = 0


@EMIT.register("GRU")
def gru(node, ctx, **attributes):
    raise ctx.fail("Caffe has no GRU layer (its recurrent layers are LSTM and RNN, neither computes a GRU's "
                   "update and reset gates)", reference="unsupported-op")  # fmt: skip


@EMIT.register("RNN")
def rnn(node, ctx, **attributes):
    raise ctx.fail("Caffe's RNN layer passes every step through an output layer, o = tanh(W_ho h + b_o), which "
                   "ONNX's RNN has not; its hidden state is not a top", reference="unsupported-op")  # fmt: skip

"""LSTM, GRU and RNN as MIL lstm, gru and rnn: one recurrent op per ONNX node and direction, not
unrolled (a free sequence length stays free).

What MIL's ops compute (coremltools' op definitions and the numpy references of its tests, run on
Apple's runtime) and how ONNX's weights map onto them:

- lstm: gates in the order input, forget, output, cell (ONNX: input, output, forget, cell), one
  bias (ONNX's Wb + Rb), peepholes input, forget, output (ONNX: input, output, forget); both
  directions in one op, states [batch, directions * hidden] (forward first). MIL's `clip` clips
  the cell state where ONNX's clips the activations' inputs: a clipped LSTM is refused, as is
  input_forget (coupled gates), which MIL's op has no input for.
- gru: gates reset, new ("output"), update (ONNX: update, reset, new), one bias; the reset gate is
  applied to the state before the recurrent product, ONNX's linear_before_reset=0. PyTorch's and
  Keras's reset_after GRU (linear_before_reset=1) has no MIL op with those numbers: iOS 18's
  `reset_after` gru is marked failing against PyTorch in coremltools' own tests, and is not
  used; it becomes a while_loop (gru_loop.py). One direction per op: a bidirectional GRU is two.
- rnn: one bias (Wb + Rb), one direction per op.

A reverse-direction op returns its sequence in the order it ran (last position first); ONNX's Y
is in position order, so the sequence is reversed back. The activations MIL's ops take without
parameters are Sigmoid, Tanh and Relu, and HardSigmoid at ONNX's defaults."""

import numpy as np

from ..common import TO_MIL
from ._common import f32, named
from .gru_loop import gru_loops

ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu", "HardSigmoid": "hard_sigmoid"}
DEFAULTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# ONNX gate blocks in MIL's order: LSTM iofc -> ifoc, GRU zrh -> r h z, RNN as it is
ORDER = {"LSTM": [0, 2, 1, 3], "GRU": [1, 2, 0], "RNN": [0]}
PEEPHOLE_ORDER = [0, 2, 1]  # ONNX P: i, o, f -> MIL i, f, o


def _reorder(w, order):
    blocks = np.split(np.asarray(w), len(order), axis=0)
    return f32(np.concatenate([blocks[i] for i in order], axis=0))


class Recurrence(object):
    """What an ONNX LSTM/GRU/RNN node says, checked against what MIL's ops compute."""

    def __init__(self, node, ctx, activations, activation_alpha, activation_beta, clip, direction, hidden_size,
                 layout):  # fmt: skip
        op = node.op_type
        self.node, self.ctx = node, ctx
        if layout:
            raise ctx.fail("%s with layout=1 (batch first) is not converted; ONNX's exporters write layout 0" % op)
        self.directions = ["forward", "reverse"] if direction == "bidirectional" else [direction]
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ctx.fail("direction %s is not an ONNX direction" % direction)
        if clip is not None:
            raise ctx.fail("a clipped %s is not converted: MIL's clip bounds the cell state, ONNX's the gates' "
                           "inputs" % op)  # fmt: skip
        if activation_alpha is not None or activation_beta is not None:
            raise ctx.fail("%s with activation_alpha/activation_beta is not converted (MIL's recurrent ops take "
                           "their activations without parameters)" % op)  # fmt: skip
        names = [a.decode() if isinstance(a, bytes) else str(a) for a in (activations or [])]
        per = len(DEFAULTS[op])
        names = names or DEFAULTS[op] * len(self.directions)
        if len(names) != per * len(self.directions):
            raise ctx.fail("%s takes %d activations per direction, %d given" % (op, per, len(names)))
        if names[:per] != names[per:] and len(self.directions) == 2 and op == "LSTM":
            raise ctx.fail("a bidirectional LSTM with different activations per direction is not converted")
        unknown = sorted(set(n for n in names if n not in ACTIVATIONS))
        if unknown:
            raise ctx.fail("%s activation %s is not converted to MIL (%s)" % (op, ", ".join(unknown),
                                                                              ", ".join(ACTIVATIONS)))  # fmt: skip
        self.activations = [[ACTIVATIONS[n] for n in names[i * per : (i + 1) * per]]
                            for i in range(len(self.directions))]  # fmt: skip
        w = ctx.need_const(node, 1, "the input weights W")
        r = ctx.need_const(node, 2, "the recurrence weights R")
        self.hidden = int(hidden_size) if hidden_size is not None else int(r.shape[-1])
        gates = GATES[op]
        b = (ctx.need_const(node, 3, "the bias B") if node.input(3)
             else np.zeros((len(self.directions), 2 * gates * self.hidden), np.float32))  # fmt: skip
        order = ORDER[op]
        self.w = [_reorder(w[d], order) for d in range(len(self.directions))]
        self.r = [_reorder(r[d], order) for d in range(len(self.directions))]
        self.b = [_reorder(b[d][: gates * self.hidden] + b[d][gates * self.hidden :], order)
                  for d in range(len(self.directions))]  # fmt: skip
        self._sequence_lens()

    def _sequence_lens(self):
        node, ctx = self.node, self.ctx
        if not node.input(4):
            return
        lens = ctx.const(node.input(4))
        steps = ctx.static_shape(node.inputs[0])
        steps = steps[0] if steps else None
        if lens is None or steps is None or np.any(np.asarray(lens) != steps):
            raise ctx.fail("%s with sequence_lens shorter than the sequence is not converted (MIL's recurrent ops "
                           "run every step of every sequence)" % node.op_type)  # fmt: skip

    # ---- inputs ---------------------------------------------------------------------------
    def x(self):
        """The input sequence, [steps, batch, features]."""
        return self.ctx.var(self.node.inputs[0])

    def initial(self, i, x, directions):
        """ONNX initial state input `i` ([directions, batch, hidden]) for `directions` (indices) as
        MIL's [batch, len(directions) * hidden]."""
        from coremltools.converters.mil import Builder as mb

        node, ctx, h = self.node, self.ctx, self.hidden
        name = node.input(i)
        if not name:
            return self.zeros(x, len(directions) * h)
        const = ctx.const(name)
        if const is not None:
            return f32(np.concatenate([np.asarray(const)[d] for d in directions], axis=-1))
        state = ctx.var(name)
        parts = [mb.gather(x=state, indices=np.int32(d), axis=0, name=named(ctx, node, False)) for d in directions]
        return parts[0] if len(parts) == 1 else mb.concat(values=parts, axis=1, name=named(ctx, node, False))

    def zeros(self, x, width):
        """Zeros [batch, width], the batch read from x [steps, batch, features] when it is free."""
        from coremltools.converters.mil import Builder as mb

        batch = x.shape[1]
        if isinstance(batch, (int, np.integer)):
            return np.zeros((int(batch), width), np.float32)
        ctx, node = self.ctx, self.node
        size = mb.slice_by_index(x=mb.shape(x=x, name=named(ctx, node, False)), begin=[1], end=[2],
                                 name=named(ctx, node, False))  # fmt: skip
        shape = mb.concat(values=[size, np.array([width], np.int32)], axis=0, name=named(ctx, node, False))
        return mb.fill(shape=shape, value=np.float32(0), name=named(ctx, node, False))

    # ---- outputs --------------------------------------------------------------------------
    def aligned(self, seq, d):
        """A direction's [steps, batch, hidden] outputs in position order."""
        from coremltools.converters.mil import Builder as mb

        if self.directions[d] == "reverse" and len(self.directions) == 1:
            return mb.reverse(x=seq, axes=[0], name=named(self.ctx, self.node, False))
        return seq

    def set_outputs(self, sequences, states):
        """ONNX's outputs from per-direction [steps, batch, hidden] sequences (position order) and
        per-state-output lists of per-direction [batch, hidden] states."""
        node, ctx = self.node, self.ctx
        if node.output(0):
            ctx.set(node, self._stack(sequences, 1, 0), 0)
        for i, parts in enumerate(states, 1):
            if node.output(i):
                ctx.set(node, self._stack(parts, 0, i), i)

    def _stack(self, parts, axis, i):
        from coremltools.converters.mil import Builder as mb

        name = self.ctx.out(self.node, i)
        if len(parts) == 1:
            return mb.expand_dims(x=parts[0], axes=[axis], name=name)
        return mb.stack(values=parts, axis=axis, name=name)

    def halves(self, var, axis):
        """A bidirectional op's [.., 2 * hidden] output as its forward and reverse halves."""
        from coremltools.converters.mil import Builder as mb

        if len(self.directions) == 1:
            return [var]
        return list(mb.split(x=var, num_splits=2, axis=axis, name=named(self.ctx, self.node, False)))


@TO_MIL.register("LSTM")
def lstm(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
         hidden_size=None, input_forget=0, layout=0):  # fmt: skip
    from coremltools.converters.mil import Builder as mb

    if input_forget:
        raise ctx.fail("an LSTM with coupled input and forget gates (input_forget) is not converted")
    rec = Recurrence(node, ctx, activations, activation_alpha, activation_beta, clip, direction, hidden_size, layout)
    x = rec.x()
    both = list(range(len(rec.directions)))
    kw = dict(weight_ih=rec.w[0], weight_hh=rec.r[0], bias=rec.b[0])
    if node.input(7):
        p = ctx.need_const(node, 7, "the peepholes P")
        kw["peephole"] = _reorder(p[0], PEEPHOLE_ORDER)
        if len(both) == 2:
            kw["peephole_back"] = _reorder(p[1], PEEPHOLE_ORDER)
    if len(both) == 2:
        kw.update(weight_ih_back=rec.w[1], weight_hh_back=rec.r[1], bias_back=rec.b[1])
    recurrent, cell, hidden = rec.activations[0]
    seq, h, c = mb.lstm(
        x=x,
        initial_h=rec.initial(5, x, both),
        initial_c=rec.initial(6, x, both),
        direction="bidirectional" if len(both) == 2 else direction,
        output_sequence=bool(node.output(0)),
        recurrent_activation=recurrent,
        cell_activation=cell,
        activation=hidden,
        name=named(ctx, node, False),
        **kw,
    )
    sequences = [rec.aligned(s, d) for d, s in enumerate(rec.halves(seq, 2))] if node.output(0) else []
    rec.set_outputs(sequences, [rec.halves(h, 1), rec.halves(c, 1)])


@TO_MIL.register("GRU")
def gru(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0, linear_before_reset=0):  # fmt: skip
    if linear_before_reset:
        rec = Recurrence(node, ctx, activations, activation_alpha, activation_beta, clip, direction, hidden_size,
                         layout)  # fmt: skip
        sequences, states = gru_loops(rec)
        rec.set_outputs(sequences, [states])
        return
    _single_direction_ops(node, ctx, "gru", activations, activation_alpha, activation_beta, clip, direction,
                          hidden_size, layout)  # fmt: skip


@TO_MIL.register("RNN")
def rnn(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0):  # fmt: skip
    _single_direction_ops(node, ctx, "rnn", activations, activation_alpha, activation_beta, clip, direction,
                          hidden_size, layout)  # fmt: skip


def _single_direction_ops(node, ctx, fn, activations, activation_alpha, activation_beta, clip, direction, hidden_size,
                          layout):  # fmt: skip
    """MIL gru / rnn: one op per direction, the reverse one's sequence put back in position order."""
    from coremltools.converters.mil import Builder as mb

    rec = Recurrence(node, ctx, activations, activation_alpha, activation_beta, clip, direction, hidden_size, layout)
    x = rec.x()
    sequences, states = [], []
    for d, way in enumerate(rec.directions):
        acts = rec.activations[d]
        kw = dict(recurrent_activation=acts[0], activation=acts[1]) if fn == "gru" else dict(activation=acts[0])
        seq, h = getattr(mb, fn)(
            x=x,
            initial_h=rec.initial(5, x, [d]),
            weight_ih=rec.w[d],
            weight_hh=rec.r[d],
            bias=rec.b[d],
            direction=way,
            output_sequence=bool(node.output(0)),
            name=named(ctx, node, False),
            **kw,
        )
        if node.output(0):
            sequences.append(mb.reverse(x=seq, axes=[0], name=named(ctx, node, False)) if way == "reverse" else seq)
        states.append(h)
    rec.set_outputs(sequences, [states])

"""Recurrent layers: ONNX RNN, GRU and LSTM as layers.SimpleRNN, layers.GRU and layers.LSTM (in
layers.Bidirectional for both directions), never unrolled.

The weights are mapped gate by gate: ONNX stacks an LSTM's gates i, o, f, c and Keras i, f, c, o;
a GRU's z, r, h are Keras's order too. ONNX's two biases (input and recurrent) are summed into
Keras's one, except for a GRU with linear_before_reset=1, which is Keras's `reset_after=True` with
both biases kept. A reverse direction is `go_backwards=True` with the outputs flipped back to
time order; `sequence_lens` shorter than the sequence is a mask (the state holds past a sequence's
end, the outputs there are zeros, as ONNX has them). ONNX's outputs [seq, dirs, batch, hidden]
are kept batch first, [batch, seq, dirs, hidden], as the layers compute them (a layout, no copy).

Refused (unsupported-attribute): clip, coupled input/forget gates, peepholes, weights computed at
run time, activations Keras's layers do not take (an LSTM's cell and output activations must be
one function; a bidirectional layer's directions must use the same)."""

import numpy as np

from ..codegen import EMIT, identity, lit

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_KERAS_ORDER = {"RNN": [0], "GRU": [0, 1, 2], "LSTM": [0, 2, 3, 1]}  # ONNX's gate blocks in Keras's order
_LAYERS = {"RNN": "SimpleRNN", "GRU": "GRU", "LSTM": "LSTM"}
_DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
_KERAS_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu", "Softsign": "softsign",
                      "Softplus": "softplus"}  # fmt: skip
BATCH_FIRST = (1, 0, 2)  # the layout of an [seq, batch, features] value stored [batch, seq, features]


def _keras_gates(kind, arr, hidden):
    """ONNX's stacked gate blocks (along axis 0) in Keras's order, transposed to Keras's [in, gates]."""
    blocks = [arr[i * hidden : (i + 1) * hidden] for i in range(_GATES[kind])]
    return np.concatenate([blocks[i] for i in _KERAS_ORDER[kind]], 0).T


def _activation_options(node, ctx, kind, activations, dirs):
    """The layer's activation keyword arguments for ONNX's activations list (None: the defaults)."""
    acts = [a.decode() if isinstance(a, bytes) else a for a in activations] if activations else []
    per_dir = len(_DEFAULT_ACTIVATIONS[kind])
    acts = acts or _DEFAULT_ACTIVATIONS[kind] * dirs
    if len(acts) != per_dir * dirs:
        raise ctx.fail("%s has %d activations; %d expected" % (kind, len(acts), per_dir * dirs))
    if acts[:per_dir] != acts[per_dir:] and dirs == 2:
        raise ctx.fail("the two directions use different activations (%s); Keras's Bidirectional takes one" % acts)
    acts = acts[:per_dir]
    unknown = [a for a in acts if a not in _KERAS_ACTIVATIONS]
    if unknown:
        raise ctx.fail("activation %s in a recurrent layer (Keras's: %s)" % (unknown[0], ", ".join(_KERAS_ACTIVATIONS)))
    if kind == "LSTM" and acts[1] != acts[2]:
        raise ctx.fail("an LSTM whose cell and output activations differ (%s, %s): Keras's LSTM has one" % (
            acts[1], acts[2]))  # fmt: skip
    names = [_KERAS_ACTIVATIONS[a] for a in acts]
    if kind == "RNN":
        return "" if names[0] == "tanh" else ", activation=%r" % names[0]
    opts = "" if names[1] == "tanh" else ", activation=%r" % names[1]
    return opts + ("" if names[0] == "sigmoid" else ", recurrent_activation=%r" % names[0])


def _weights(node, ctx, kind, linear_before_reset):
    """(per-direction Keras weight lists, whether the layer has a bias, hidden size, input size)."""
    w = ctx.need_const(node, 1, "the input weights")
    r = ctx.need_const(node, 2, "the recurrent weights")
    b = ctx.need_const(node, 3, "the biases") if node.input(3) else None
    dirs, rows, _ = w.shape
    hidden = r.shape[-1]
    out = []
    for d in range(dirs):
        params = [_keras_gates(kind, w[d], hidden), _keras_gates(kind, r[d], hidden)]
        if b is not None:
            wb, rb = _keras_gates(kind, b[d][:rows], hidden), _keras_gates(kind, b[d][rows:], hidden)
            params.append(np.stack([wb, rb]) if kind == "GRU" and linear_before_reset else wb + rb)
        out.append(params)
    return out, b is not None, hidden, w.shape[2]


def _state(ctx, name, d, layout):
    """Direction `d` of an initial state ([dirs, batch, hidden], or [batch, dirs, hidden] with
    layout=1) as Keras takes it, [batch, hidden]; None when absent or zero (Keras's default)."""
    if not name:
        return None
    c = ctx.const(name)
    if c is not None:
        if not np.any(c):
            return None
        return "%s[:, %d]" % (ctx.constant(name, identity(3) if layout else BATCH_FIRST), d)
    return "%s[:, %d]" % (ctx.x(name, identity(3) if layout else BATCH_FIRST), d)


def _mask(node, ctx, steps):
    """The `mask=` argument for sequence_lens (None when every sequence has the full length)."""
    name = node.input(4)
    if not name:
        return None
    lens = ctx.const(name)
    if lens is not None and steps is not None and np.all(lens == steps):
        return None
    if steps is None:
        raise ctx.fail("sequence_lens with a sequence length unknown before run time", reference="missing-input-shape")
    src = ctx.constant(name) if lens is not None else ctx.x(name)
    return ctx.temp("keras.ops.arange(%d)[None, :] < keras.ops.expand_dims(%s, 1)" % (steps, src),
                    ctx.weight_hint(node) + "_mask")  # fmt: skip


def _recurrent(kind):
    def convert(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None,
                direction="forward", hidden_size=None, input_forget=0, layout=0, linear_before_reset=0):  # fmt: skip
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ctx.fail("%s direction %r" % (kind, direction))
        if clip is not None:
            raise ctx.fail("%s with clip=%s: Keras's recurrent layers do not clip" % (kind, clip))
        if activation_alpha or activation_beta:
            raise ctx.fail("%s activations with alpha/beta parameters" % kind)
        if kind == "LSTM" and input_forget:
            raise ctx.fail("an LSTM with coupled input and forget gates (input_forget=1)")
        if kind == "LSTM" and node.input(7) and np.any(ctx.need_const(node, 7, "the peepholes")):
            raise ctx.fail("an LSTM with peepholes: Keras's LSTM has none")
        dirs = 2 if direction == "bidirectional" else 1
        acts = _activation_options(node, ctx, kind, activations, dirs)
        params, use_bias, hidden, _ = _weights(node, ctx, kind, linear_before_reset)
        _emit(node, ctx, kind, direction, layout, acts, params, use_bias, hidden, linear_before_reset)

    return convert


def _emit(node, ctx, kind, direction, layout, acts, params, use_bias, hidden, linear_before_reset):
    outputs = list(node.outputs) + [""] * 3
    y, states = outputs[0], [o for o in outputs[1 : 3 if kind == "LSTM" else 2]]
    x = node.inputs[0]
    src = ctx.x(x, identity(3) if layout else BATCH_FIRST)
    steps = (ctx.shape(x) or [None, None])[1 if layout else 0]
    opts = acts
    if not use_bias:
        opts += ", use_bias=False"
    if kind == "GRU" and not linear_before_reset:
        opts += ", reset_after=False"
    opts += ", return_sequences=True" if y else ""
    opts += ", return_state=True" if any(states) else ""
    mask = _mask(node, ctx, steps)
    if mask is not None and y and direction != "bidirectional":
        opts += ", zero_output_for_mask=True"  # Bidirectional sets it itself
    if direction == "reverse":
        opts += ", go_backwards=True"
    ctor = "layers.%s(%d%s)" % (_LAYERS[kind], hidden, opts)
    weights = params[0]
    if direction == "bidirectional":
        ctor = "layers.Bidirectional(%s)" % ctor  # outputs concatenated: [batch, seq, 2 * hidden]
        weights = params[0] + params[1]
    per_state = 2 if kind == "LSTM" else 1
    initial = []
    for d in range(len(params)):
        given = [_state(ctx, node.input(5 + i), d, layout) for i in range(per_state)]
        if any(given):
            initial += [g or "keras.ops.zeros_like(%s)" % [o for o in given if o][0] for g in given]
    call = src
    if initial:
        call += ", initial_state=[%s]" % ", ".join(initial)
    if mask is not None:
        call += ", mask=%s" % mask
    hint = ctx.weight_hint(node)
    name = ctx.layer_name(hint)
    results = [ctx.new_var(hint + "_y")] + (
        [ctx.new_var("%s_%s%s" % (hint, s, "_bwd" if d else "")) for d in range(len(params)) for s in "hc"[:per_state]]
        if any(states)
        else []
    )
    ctx.lines.append("%s = %s" % (", ".join(results), ctx._call(ctor, name, [call], weights)))
    batch_first = identity(4) if layout else (2, 0, 1, 3)
    if y:
        seq = results[0]
        if direction == "reverse":
            seq = ctx.temp("keras.ops.flip(%s, axis=1)" % seq, hint + "_y_in_time_order")
        if direction == "bidirectional":
            shape = lit((steps if steps is not None else -1, 2, hidden))
            split = "layers.Reshape(%s, name=%r)(%s)" % (shape, ctx.layer_name(hint + "_directions"), seq)
            ctx.assign(node, split, batch_first, outputs=[y])
        else:
            ctx.assign(node, "keras.ops.expand_dims(%s, 2)" % seq, batch_first, outputs=[y])
    finals = results[-per_state * len(params) :] if any(states) else []
    for i, out in enumerate(states):
        if not out:
            continue
        per_dir = [finals[d * per_state + i] for d in range(len(params))]
        expr = "keras.ops.stack([%s], axis=1)" % ", ".join(per_dir) if len(per_dir) > 1 else (
            "keras.ops.expand_dims(%s, 1)" % per_dir[0])  # fmt: skip
        ctx.assign(node, expr, identity(3) if layout else BATCH_FIRST, outputs=[out])


for _kind in _GATES:
    EMIT.register(_kind)(_recurrent(_kind))

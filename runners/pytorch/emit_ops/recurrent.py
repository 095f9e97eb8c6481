"""Recurrent layers: RNN, GRU, LSTM as nn.RNN/nn.GRU/nn.LSTM where torch's layer computes ONNX's
form (constant weights, default activations, no clip, peepholes or coupled gates, a GRU's
linear_before_reset=1, full-length sequences); every other form step by step in the generated
file's `recurrent` function."""

import numpy as np

from .. import functions
from ..codegen import EMIT, lit

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# torch's gate blocks in ONNX's order: LSTM i,o,f,c -> i,f,c,o; GRU z,r,h -> r,z,h
_TORCH_ORDER = {"RNN": [0], "GRU": [1, 0, 2], "LSTM": [0, 2, 3, 1]}
_DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
_FUNCTION_ACTIVATIONS = ("Sigmoid", "Tanh", "Relu", "Softsign", "Softplus")


def _reorder(kind, arr, hidden):
    blocks = [arr[i * hidden : (i + 1) * hidden] for i in range(_GATES[kind])]
    return np.concatenate([blocks[i] for i in _TORCH_ORDER[kind]], 0)


def _layer_form(node, ctx, kind, activations, clip, input_forget, linear_before_reset, direction, layout):
    """The nn layer's nonlinearity ("tanh" or "relu" for an RNN, "" otherwise) when nn.RNN/GRU/LSTM
    computes this node, else None."""
    consts = [ctx.const(node.input(i)) if node.input(i) else None for i in range(8)]
    if consts[1] is None or consts[2] is None or (node.input(3) and consts[3] is None):
        return None
    if clip is not None or input_forget or (kind == "GRU" and not linear_before_reset):
        return None
    if node.input(7) and (consts[7] is None or np.any(consts[7])):  # peepholes
        return None
    if node.input(4):  # sequence lengths: only when every sequence has the full length
        steps = (ctx.shape(node.inputs[0]) or [None, None])[1 if layout else 0]
        if consts[4] is None or steps is None or np.any(consts[4] != steps):
            return None
    dirs = 2 if direction == "bidirectional" else 1
    acts = list(activations) if activations else _DEFAULT_ACTIVATIONS[kind] * dirs
    if kind == "RNN" and len(set(acts)) == 1 and acts[0] in ("Tanh", "Relu"):
        return acts[0].lower()
    return "" if acts == _DEFAULT_ACTIVATIONS[kind] * dirs else None


def _recurrent(kind):
    def convert(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None,
                direction="forward", hidden_size=None, input_forget=0, layout=0, linear_before_reset=0):  # fmt: skip
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ctx.fail("%s direction %r" % (kind, direction))
        if activation_alpha or activation_beta:
            raise ctx.fail("%s activations with alpha/beta parameters" % kind)
        if kind != "GRU" and linear_before_reset:
            raise ctx.fail("linear_before_reset on %s" % kind)
        if kind != "LSTM" and input_forget:
            raise ctx.fail("input_forget on %s" % kind)
        form = _layer_form(node, ctx, kind, activations, clip, input_forget, linear_before_reset, direction, layout)
        if form is not None:
            _layer(node, ctx, kind, form, direction, layout)
            return
        if any(a not in _FUNCTION_ACTIVATIONS for a in activations or []):
            raise ctx.fail(
                "%s activations %s (torch's are %s)" % (kind, list(activations), ", ".join(_FUNCTION_ACTIVATIONS))
            )
        _function(node, ctx, kind, activations, clip, direction, input_forget, layout, linear_before_reset)

    return convert


def _layer(node, ctx, kind, nonlinearity, direction, layout):
    x = node.inputs[0]
    w, r = ctx.const(node.input(1)), ctx.const(node.input(2))
    dirs, rows, inputs = w.shape
    hidden = r.shape[-1]
    b = ctx.const(node.input(3)) if node.input(3) else np.zeros((dirs, 2 * rows), w.dtype)
    params = {}
    for d in range(dirs):
        suffix = "_l0" + ("_reverse" if d else "")
        params["weight_ih" + suffix] = _reorder(kind, w[d], hidden)
        params["weight_hh" + suffix] = _reorder(kind, r[d], hidden)
        params["bias_ih" + suffix] = _reorder(kind, b[d][:rows], hidden)
        params["bias_hh" + suffix] = _reorder(kind, b[d][rows:], hidden)
    opts = ""
    if nonlinearity == "relu":
        opts += ", nonlinearity='relu'"
    if dirs == 2:
        opts += ", bidirectional=True"
    if layout:
        opts += ", batch_first=True"
    cls = {"RNN": "nn.RNN", "GRU": "nn.GRU", "LSTM": "nn.LSTM"}[kind]
    mod = ctx.module(node, "%s(%d, %d%s)" % (cls, inputs, hidden, opts), params, hint=ctx.weight_hint(node.input(1)))
    time = 1 if layout else 0
    src = ctx.x(x)
    if direction == "reverse":
        src = "torch.flip(%s, [%d])" % (src, time)
    states = [_state(ctx, node.input(5), layout)]
    if kind == "LSTM":
        states.append(_state(ctx, node.input(6), layout))
    if any(s != "None" for s in states):
        states = [s if s != "None" else "torch.zeros_like(%s)" % other for s, other in zip(states, states[::-1])]
        call = "%s(%s, %s)" % (mod, src, states[0] if kind != "LSTM" else "(%s, %s)" % tuple(states))
    else:
        call = "%s(%s)" % (mod, src)
    out = ctx.local("%s_out" % mod[5:], call)
    outputs = list(node.outputs) + ["", ""]
    if outputs[0]:  # torch's (steps, batch, dirs * hidden) -> ONNX's (steps, dirs, batch, hidden)
        y = "%s[0]" % out
        if direction == "reverse":
            y = "torch.flip(%s, [%d])" % (y, time)
        y = "%s.unflatten(2, (%d, %d))" % (y, dirs, hidden)
        ctx.assign(node, y if layout else "%s.transpose(1, 2)" % y, outputs=outputs[:1])
    finals = {1: "%s[1][0]" % out, 2: "%s[1][1]" % out} if kind == "LSTM" else {1: "%s[1]" % out}
    for i, state in finals.items():
        if outputs[i]:  # (dirs, batch, hidden) as ONNX's, or batch first with layout=1
            ctx.assign(node, "%s.transpose(0, 1)" % state if layout else state, outputs=outputs[i : i + 1])


def _state(ctx, name, layout):
    """An initial state as torch takes it: (dirs, batch, hidden)."""
    if not name:
        return "None"
    return "%s.transpose(0, 1)" % ctx.x(name) if layout else ctx.x(name)


def _function(node, ctx, kind, activations, clip, direction, input_forget, layout, linear_before_reset):
    args = [repr(kind)] + [ctx.x(node.input(i)) for i in range(3)]
    for i, key in ((3, "b"), (4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "p")):
        if node.input(i):
            args.append("%s=%s" % (key, ctx.x(node.input(i))))
    if direction != "forward":
        args.append("direction=%r" % direction)
    if layout:
        args.append("layout=1")
    if activations:
        args.append("activations=%s" % lit(list(activations)))
    if clip is not None:
        args.append("clip=%s" % lit(float(clip)))
    if input_forget:
        args.append("input_forget=1")
    if linear_before_reset:
        args.append("linear_before_reset=1")
    call = "%s(%s)" % (ctx.function(functions.recurrent), ", ".join(args))
    count = 3 if kind == "LSTM" else 2
    outputs = (list(node.outputs) + [""] * count)[:count]
    ctx.assign(node, call, outputs=outputs)


for _kind in _GATES:
    EMIT.register(_kind)(_recurrent(_kind))

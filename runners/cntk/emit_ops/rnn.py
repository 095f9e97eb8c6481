"""LSTM, GRU, RNN as CNTK recurrences: each direction a `C.layers.Recurrence` over a step function
written with ONNX's equations (its gate order, GRU's linear_before_reset either way), run on the
sequence made a CNTK sequence axis (`C.to_sequence`) and unpacked back to a static axis.

CNTK's fused `optimized_rnnstack` runs on GPUs only (cuDNN), and its layers' LSTM/GRU cells order
and combine their gates differently from ONNX (CNTK's GRU resets before the recurrent product), so
the cell is written out: a few lines per direction, exact.

The batch stays CNTK's dynamic axis. With ONNX's default layout (X [seq, batch, input]) the batch
is 1 in the IR and hidden in the value (runners/cntk/codegen.py); with layout=1 (X [batch, seq,
input]) it is the batch axis itself."""

import numpy as np

from ..emit import EMIT

ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}
# op -> (gate count, default activations per direction, state names)
KINDS = {"LSTM": (4, ["Sigmoid", "Tanh", "Tanh"], ("h", "c")), "GRU": (3, ["Sigmoid", "Tanh"], ("h",)),
         "RNN": (1, ["Tanh"], ("h",))}  # fmt: skip


@EMIT.register("LSTM")
def lstm(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
         hidden_size=None, input_forget=0, layout=0):  # fmt: skip
    if input_forget:
        raise ctx.fail("LSTM with input_forget (coupled gates); the CNTK cell written here has separate gates")
    if node.input(7) and np.any(ctx.need_const(node, 7, "the peephole weights") != 0):
        raise ctx.fail("LSTM with peephole weights")
    _recurrent(node, ctx, activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout)


@EMIT.register("GRU")
def gru(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0, linear_before_reset=0):  # fmt: skip
    _recurrent(node, ctx, activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout,
               linear_before_reset)  # fmt: skip


@EMIT.register("RNN")
def rnn(node, ctx, activation_alpha=None, activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0):  # fmt: skip
    _recurrent(node, ctx, activation_alpha, activation_beta, activations, clip, direction, hidden_size, layout)


def _recurrent(node, ctx, alpha, beta, activations, clip, direction, hidden, layout, linear_before_reset=0):
    kind = node.op_type
    gates, defaults, states = KINDS[kind]
    dirs = 2 if direction == "bidirectional" else 1
    if alpha or beta or clip is not None:
        raise ctx.fail("%s with activation_alpha/beta or clip" % kind)
    names = [a.decode() if isinstance(a, bytes) else a for a in (activations or defaults * dirs)]
    unknown = sorted(set(names) - set(ACTIVATIONS))
    if unknown:
        raise ctx.fail("%s with activation %s (CNTK cell: %s)" % (kind, ", ".join(unknown), ", ".join(ACTIVATIONS)))
    x = node.inputs[0]
    shape = ctx.need_shape(x)
    seq, size = (shape[1], shape[2]) if layout else (shape[0], shape[2])
    # where X's batch is: CNTK's batch axis (layout 1), hidden inside (batch 1), or a static axis
    # (a graph input read only here, see emit.batch_inputs) made the batch axis for the recurrence
    form = "batch" if layout else "hidden" if x in ctx.hidden and shape[1] == 1 else "static"
    if (form == "batch") != ctx.is_batched(x) or form == "static" and x in ctx.batched:
        raise ctx.fail("%s input of shape %s whose batch axis is not CNTK's batch axis" % (kind, shape))
    lens = ctx.const(node.input(4)) if node.input(4) else None
    if node.input(4) and (lens is None or np.any(lens != seq)):
        raise ctx.fail("%s with sequence_lens shorter than the sequence" % kind)
    w, r = ctx.need_const(node, 1, "the input weights"), ctx.need_const(node, 2, "the recurrent weights")
    hidden = int(hidden or r.shape[-1])
    b = ctx.need_const(node, 3, "the biases") if node.input(3) else np.zeros((dirs, 2 * gates * hidden), np.float32)
    initial = [_initial(node, ctx, i, dirs, hidden) for i in range(5, 5 + len(states))]
    if form == "static":
        entries = ctx.call("to_batch", ctx.call("transpose", ctx.x(x), [1, 0, 2]))
    else:
        entries = ctx.call("reshape", ctx.x(x), (seq, size))
    xs = ctx.temp(ctx.call("to_sequence", entries), "sequence")
    outs, finals = [], []
    for d in range(dirs):
        backward = direction == "reverse" or d == 1
        tag = "%s_%s" % (node.name or kind, "backward" if backward else "forward")
        weights = [ctx.weight(tag + "_W", np.ascontiguousarray(w[d].T, np.float32), "parameter"),
                   ctx.weight(tag + "_R", np.ascontiguousarray(r[d].T, np.float32), "parameter")]  # fmt: skip
        step = ctx.new_var("_%s_step" % tag)
        acts = [ACTIVATIONS[a] for a in names[d * len(defaults) : (d + 1) * len(defaults)]]
        _step(ctx, kind, step, weights, np.asarray(b[d], np.float32), hidden, acts, linear_before_reset, tag)
        init = [s[d] for s in initial]
        full = kind == "LSTM" and node.outputs[2:3] not in ([], [""])
        options = [step] + ["go_backwards=True"] * backward + ["return_full_state=True"] * full
        state = _state_literal(ctx, init, tag)
        options += ["initial_state=%s" % state] if state else []
        run = ctx.temp("C.layers.Recurrence(%s)(%s)" % (", ".join(options), xs), "run%d" % d)
        unpack = []
        for k in range(2 if full else 1):
            seqs = "%s.outputs[%d]" % (run, k) if full else run
            unpack.append(ctx.temp(ctx.call("sequence.unpack", seqs, 0, no_mask_output=True), "unpacked%d_%d" % (d, k)))
        outs.append(unpack[0])
        at = 0 if backward else seq - 1  # the last step taken
        finals.append(
            [ctx.temp(ctx.call("slice", u, 0, at, at + 1), "last%d_%d" % (d, k)) for k, u in enumerate(unpack)]
        )
    _outputs(node, ctx, outs, finals, (seq, dirs, shape[1], hidden), form)


def _initial(node, ctx, i, dirs, hidden):
    """Per direction, the constant initial state [hidden] of input `i` (None for zeros)."""
    if not node.input(i):
        return [None] * dirs
    value = ctx.const(node.input(i))
    if value is None:
        raise ctx.fail("a computed initial state ('%s'); C.layers.Recurrence starts from constants" % node.input(i))
    if np.any(value != value[:, :1]):
        raise ctx.fail("a constant initial state for a batch of %d (CNTK: one for every batch entry)" % value.shape[1])
    out = []
    for d in range(dirs):
        state = np.asarray(value[d, 0], np.float32)
        out.append(ctx.weight("%s_dir%d" % (node.inputs[i], d), state) if np.any(state) else None)
    return out


def _state_literal(ctx, init, tag):
    if all(s is None for s in init):
        return None
    parts = [s or "0" for s in init]
    return "(%s)" % ", ".join(parts) if len(parts) > 1 else parts[0]


def _step(ctx, kind, name, weights, bias, hidden, acts, linear_before_reset, tag):
    """`@C.Function def name(h[, c], x)`: one step of the cell, ONNX's equations and gate order."""
    W, R = weights
    H = hidden
    f = acts[0]

    def gate(k, z="z"):
        return "C.slice(%s, 0, %d, %d)" % (z, k * H, (k + 1) * H)

    lines = ["@C.Function"]
    if kind == "LSTM":
        g, h = acts[1], acts[2]
        bsum = ctx.weight(tag + "_b", bias[: 4 * H] + bias[4 * H :], "parameter")
        lines += ["def %s(h, c, x):" % name,
                  "    z = C.plus(C.plus(C.times(x, %s), C.times(h, %s)), %s)  # gates i, o, f, c" % (W, R, bsum),
                  "    c = C.plus(C.element_times(C.%s(%s), c), C.element_times(C.%s(%s), C.%s(%s)))"
                  % (f, gate(2), f, gate(0), g, gate(3)),
                  "    return C.element_times(C.%s(%s), C.%s(c)), c" % (f, gate(1), h)]  # fmt: skip
    elif kind == "GRU":
        g = acts[1]
        wb = ctx.weight(tag + "_Wb", bias[: 3 * H], "parameter")
        rb = ctx.weight(tag + "_Rb", bias[3 * H :], "parameter")
        lines += ["def %s(h, x):" % name,
                  "    zx = C.plus(C.times(x, %s), %s)  # gates z, r, h" % (W, wb)]  # fmt: skip
        if linear_before_reset:  # the reset gate scales the recurrent product and its bias
            lines += ["    zh = C.plus(C.times(h, %s), %s)" % (R, rb)]
            candidate = "C.element_times(r, %s)" % gate(2, "zh")
        else:  # the reset gate scales the state before the product
            lines += [
                "    zh = C.plus(C.times(h, C.slice(%s, 1, 0, %d)), C.slice(%s, 0, 0, %d))" % (R, 2 * H, rb, 2 * H)
            ]
            candidate = "C.plus(C.times(C.element_times(r, h), C.slice(%s, 1, %d, %d)), C.slice(%s, 0, %d, %d))" % (
                R, 2 * H, 3 * H, rb, 2 * H, 3 * H)  # fmt: skip
        lines += ["    z = C.%s(C.plus(%s, %s))" % (f, gate(0, "zx"), gate(0, "zh")),
                  "    r = C.%s(C.plus(%s, %s))" % (f, gate(1, "zx"), gate(1, "zh")),
                  "    n = C.%s(C.plus(%s, %s))" % (g, gate(2, "zx"), candidate)]  # fmt: skip
        lines += ["    return C.plus(C.element_times(C.minus(1.0, z), n), C.element_times(z, h))"]
    else:
        bsum = ctx.weight(tag + "_b", bias[:H] + bias[H:], "parameter")
        lines += ["def %s(h, x):" % name,
                  "    return C.%s(C.plus(C.plus(C.times(x, %s), C.times(h, %s)), %s))" % (f, W, R, bsum)]  # fmt: skip
    for line in lines:
        ctx.line(line)


def _outputs(node, ctx, outs, finals, sizes, form):
    """Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]), Y_h and Y_c [dirs, batch,
    hidden] (layout 1: [batch, dirs, hidden]) from each direction's unpacked [seq, hidden] outputs."""
    seq, dirs, batch, hidden = sizes
    names = list(node.outputs) + ["", "", ""]
    if names[0]:
        parts = [ctx.call("reshape", o, (seq, 1, hidden)) for o in outs]
        expr = ctx.temp("C.splice(%s, axis=1)" % ", ".join(parts) if dirs > 1 else parts[0], "directions")
        _assign(node, ctx, expr, names[0], (seq, dirs, hidden), [1, 2, 0, 3], form)
    for k, name in enumerate(names[1:3]):
        if not name:
            continue
        parts = [f[k] for f in finals]
        expr = ctx.temp("C.splice(%s, axis=0)" % ", ".join(parts) if dirs > 1 else parts[0], "final%d" % k)
        _assign(node, ctx, expr, name, (dirs, hidden), [1, 0, 2], form)


def _assign(node, ctx, expr, name, shape, perm, form):
    """An output of per-entry `shape` where X's batch was: CNTK's batch axis (layout 1), hidden
    inside (the IR's batch axis, before the last, of size 1), or back on a static axis at the IR's
    place (`perm` of [batch] + shape)."""
    if form == "batch":
        ctx.assign(node, ctx.call("reshape", expr, shape), output=name, batched=True, hidden=False)
    elif form == "hidden":
        full = shape[:-1] + (1, shape[-1])
        ctx.assign(node, ctx.call("reshape", expr, full), output=name, batched=True, hidden=True)
    else:
        ctx.assign(node, ctx.call("transpose", ctx.call("unpack_batch", expr), perm), output=name, batched=False,
                   hidden=False)  # fmt: skip

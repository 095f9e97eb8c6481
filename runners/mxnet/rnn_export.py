"""MXNet's fused RNN operator (Gluon's rnn.LSTM/GRU/RNN) -> one ONNX LSTM, GRU or RNN per layer.

mxnet.onnx 1.9.1's own converter takes every layer's input size for the state size (a 2-layer LSTM
over 6 features reads 576 weights where there are 288, and an empty bias), refuses bidirectional
GRUs and RNNs and stops at two layers. This one reads the flat parameter vector where Gluon builds it
(`_rnn_param_concat` of the reshaped parameters), in MXNet's order: every layer's and direction's
i2h and h2h weights, then their biases in the same order; gates reordered to ONNX's (MXNet LSTM
i f c o, GRU r z n; ONNX LSTM i o f c, GRU z r h). MXNet's GRU applies the reset gate after the
recurrent product: ONNX's linear_before_reset=1.

Runs inside the exporter (registered in place of its RNN converter while a model is parsed).
"""

import numpy as np

# mode -> (ONNX op, gate count, ONNX gate k is MXNet gate ORDER[k])
MODES = {"lstm": ("LSTM", 4, [0, 3, 1, 2]), "gru": ("GRU", 3, [1, 0, 2]), "rnn_tanh": ("RNN", 1, [0]),
         "rnn_relu": ("RNN", 1, [0])}  # fmt: skip


def _flat(mx_graph, index, weights):
    """The value of graph node `index` when it is a parameter, or a reshape / concatenation of
    parameters (Gluon's `_rnn_param_concat`); None when it is computed from data."""
    node = mx_graph[index]
    op = node["op"]
    if op == "null":
        value = weights.get(node["name"])
        return None if value is None else np.asarray(value)
    parts = [_flat(mx_graph, i[0], weights) for i in node.get("inputs", [])]
    if any(p is None for p in parts):
        return None
    shape = node.get("attrs", {}).get("shape", "").strip("()[] ").rstrip(",")
    if op == "Reshape" and shape and "," not in shape:  # to one axis: (-1,), or its size once inferred
        return parts[0].reshape(-1)
    if op in ("_rnn_param_concat", "Concat", "concat") and all(p.ndim == 1 for p in parts):
        return np.concatenate(parts)
    return None


def convert_rnn(node, **kwargs):
    from onnx import helper, numpy_helper

    name = node["name"]
    attrs = node.get("attrs", {})
    mode = attrs.get("mode")
    if mode not in MODES:
        raise NotImplementedError("RNN mode %r" % mode)
    for key, default in (("use_sequence_length", "False"), ("projection_size", "None"),
                         ("lstm_state_clip_min", "None"), ("lstm_state_clip_max", "None")):  # fmt: skip
        if str(attrs.get(key, default)) != default:
            raise NotImplementedError("RNN with %s=%s has no ONNX form" % (key, attrs[key]))
    op, gates, order = MODES[mode]
    layers = int(attrs.get("num_layers", "1"))
    dirs = 2 if str(attrs.get("bidirectional", "False")).lower() in ("true", "1") else 1
    hidden = int(attrs["state_size"])
    states_out = str(attrs.get("state_outputs", "False")).lower() in ("true", "1")
    lookup = kwargs["outputs_lookup"]
    inputs = [lookup[i[0]][i[1]].name for i in node["inputs"]]
    flat = _flat(kwargs["mx_graph"], node["inputs"][1][0], kwargs["weights"])
    if flat is None:
        raise NotImplementedError("RNN parameters computed in the graph (not parameters of the model)")
    sizes = []  # per layer and direction: input size
    for layer in range(layers):
        sizes += [None if layer == 0 else dirs * hidden] * dirs
    # the first layer's input size from the vector's length
    pieces = len(sizes)
    rest = flat.size - (pieces - dirs) * gates * hidden * dirs * hidden - pieces * gates * hidden * (hidden + 2)
    if rest <= 0 or rest % (dirs * gates * hidden):
        raise NotImplementedError("RNN parameter vector of %d values for %s" % (flat.size, attrs))
    first = rest // (dirs * gates * hidden)
    sizes = [first if s is None else s for s in sizes]
    matrices, at = [], 0
    for size in sizes:
        w = flat[at : at + gates * hidden * size].reshape(gates * hidden, size)
        at += w.size
        r = flat[at : at + gates * hidden * hidden].reshape(gates * hidden, hidden)
        at += r.size
        matrices.append((w, r))
    biases = []
    for _ in sizes:
        biases.append(flat[at : at + 2 * gates * hidden])
        at += 2 * gates * hidden

    def reorder(value):
        blocks = np.split(value, gates, axis=0)
        return np.concatenate([blocks[k] for k in order], axis=0)

    init = kwargs["initializer"]

    made = set()

    def const(suffix, value):
        if suffix not in made:
            made.add(suffix)
            init.append(numpy_helper.from_array(np.ascontiguousarray(value), name + "_" + suffix))
        return name + "_" + suffix

    nodes = []
    data = inputs[0]
    # each state input [layers * dirs, batch, hidden] broadcast to the batch (Gluon's zeros are (.., 0, ..))
    nodes.append(helper.make_node("Shape", [data], [name + "_data_shape"]))
    nodes.append(helper.make_node("Slice", [name + "_data_shape", const("one", np.array([1], np.int64)),
                                            const("two", np.array([2], np.int64))], [name + "_batch"]))  # fmt: skip
    nodes.append(helper.make_node("Concat", [const("lead", np.array([layers * dirs], np.int64)), name + "_batch",
                                             const("hidden", np.array([hidden], np.int64))], [name + "_state_shape"],
                                  axis=0))  # fmt: skip
    states = []
    for k, state in enumerate(inputs[2 : 4 if mode == "lstm" else 3]):
        nodes.append(helper.make_node("Expand", [state, name + "_state_shape"], [name + "_state%d" % k]))
        states.append(name + "_state%d" % k)
    finals = [[] for _ in states]
    x = data
    for layer in range(layers):
        pieces = range(layer * dirs, (layer + 1) * dirs)
        w = np.stack([reorder(matrices[p][0]) for p in pieces]).astype(np.float32)
        r = np.stack([reorder(matrices[p][1]) for p in pieces]).astype(np.float32)
        b = np.stack([np.concatenate([reorder(biases[p][: gates * hidden]), reorder(biases[p][gates * hidden :])])
                      for p in pieces]).astype(np.float32)  # fmt: skip
        tag = "%s_l%d" % (name, layer)
        layer_states = []
        for k, state in enumerate(states):
            layer_states.append("%s_initial%d" % (tag, k))
            bounds = [const("l%d_from" % layer, np.array([layer * dirs], np.int64)),
                      const("l%d_to" % layer, np.array([(layer + 1) * dirs], np.int64)),
                      const("axis0", np.array([0], np.int64))]  # fmt: skip
            nodes.append(helper.make_node("Slice", [state] + bounds, [layer_states[-1]]))
        outs = [tag + "_y", tag + "_h"] + ([tag + "_c"] if mode == "lstm" else [])
        extra = {"linear_before_reset": 1} if op == "GRU" else {}
        if mode == "rnn_relu":
            extra["activations"] = ["Relu"] * dirs
        nodes.append(helper.make_node(op, [x, const("l%d_W" % layer, w), const("l%d_R" % layer, r),
                                           const("l%d_B" % layer, b), ""] + layer_states, outs, name=tag,
                                      hidden_size=hidden, direction="bidirectional" if dirs == 2 else "forward",
                                      **extra))  # fmt: skip
        for k in range(len(states)):
            finals[k].append(outs[1 + k])
        # Y [seq, dirs, batch, hidden] -> [seq, batch, dirs * hidden]
        last = layer == layers - 1
        nodes.append(helper.make_node("Transpose", [outs[0]], [tag + "_y_t"], perm=[0, 2, 1, 3]))
        x = name if last else tag + "_out"
        nodes.append(
            helper.make_node("Reshape", [tag + "_y_t", const("out_shape", np.array([0, 0, -1], np.int64))], [x])
        )
    if states_out:
        for k, parts in enumerate(finals):
            nodes.append(helper.make_node("Concat", parts, [name + str(k + 1)], axis=0))
    return nodes

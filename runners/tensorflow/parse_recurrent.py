"""Keras recurrent layers back to ONNX's LSTM, GRU and RNN after tf2onnx.

Keras 3's LSTM, GRU and SimpleRNN run their cell in a tf.while_loop, which tf2onnx's rewriters
recognise only in some forms (a Keras 3 GRU, or an LSTM at batch 1, stay an ONNX Loop over the
cell's arithmetic, which no target's native layer takes). Each such Loop is replaced by the ONNX
op of its layer, built from the layer's own weights and configuration:

- the Loop steps forward over a time-major tensor [seq, batch, features] it reads from the outer
  graph (a backward layer's input is reversed before the loop, and its outputs after, by nodes that
  stay), and stacks the new state at each step: ONNX's Y [seq, 1, batch, hidden] without its
  direction axis;
- gates are reordered (Keras's LSTM i, f, c, o is ONNX's i, o, f, c; a GRU's z, r, h is the same in
  both), a GRU with reset_after=True is linear_before_reset=1 with its two biases.

A Loop is left as it is (and a target without Loop refuses it, naming the node) when the layer
reads a mask or an initial state, its activations are not ONNX's, or the loop's final states
are read outside it.
"""

import re

import numpy as np

_KINDS = {"LSTM": ("LSTM", 4, [0, 3, 1, 2]), "GRU": ("GRU", 3, [0, 1, 2]), "SimpleRNN": ("RNN", 1, [0])}
_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "hard_sigmoid": None}
_DEFAULTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "SimpleRNN": ["Tanh"]}
_MASKS = {"Where", "Not", "Equal", "If"}


def _call_arguments(layer):
    """The keyword arguments of the layer's one call (Keras 3 keeps them on its inbound node)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if len(nodes) != 1:
        return None
    args = getattr(nodes[0], "arguments", None)
    return dict(getattr(args, "kwargs", {}) or {}) if args is not None else None


def _layers(model):
    """{(layer name, direction prefix or ''): recurrent layer} for the model's top-level layers."""
    import keras

    out = {}
    for layer in model.layers:
        kwargs = _call_arguments(layer)
        if kwargs is None or kwargs.get("mask") is not None or kwargs.get("initial_state") is not None:
            continue
        if isinstance(layer, keras.layers.Bidirectional):
            out[(layer.name, "forward")] = layer.forward_layer
            out[(layer.name, "backward")] = layer.backward_layer
        elif isinstance(layer, keras.layers.RNN):
            out[(layer.name, "")] = layer
    return out


def _strip(part):
    return re.sub(r"_\d+$", "", part)


def _layer_of(loop_name, layers):
    """The recurrent layer whose tf.while_loop a Loop node is, from the node's name scope."""
    parts = [_strip(p) for p in loop_name.split("/")]
    if len(parts) >= 2 and (parts[-2], "") in layers:
        return layers[(parts[-2], "")]
    if len(parts) >= 3:
        for direction in ("forward", "backward"):
            if parts[-2].startswith(direction + "_") and (parts[-3], direction) in layers:
                return layers[(parts[-3], direction)]
    return None


def _outer_sequence(body):
    """The outer value the loop body reads a time step of (a Gather of a value the body neither
    takes nor computes), or None."""
    local = set(i.name for i in body.input) | set(i.name for i in body.initializer)
    local |= set(o for n in body.node for o in n.output)
    reads = [n.input[0] for n in body.node if n.op_type == "Gather" and n.input[0] not in local]
    return reads[0] if len(set(reads)) == 1 else None


def _activation(fn):
    import keras

    return _ACTIVATIONS.get(keras.activations.serialize(fn) if not isinstance(fn, str) else fn)


def _onnx_weights(layer, kind):
    """(W, R, B, attributes) in ONNX's layout for a Keras recurrent layer, or None."""
    cell = layer.cell
    op, gates, order = _KINDS[kind]
    hidden = int(cell.units)

    def reorder(kernel):  # Keras [in, gates * hidden] -> ONNX [1, gates * hidden, in]
        blocks = [kernel[:, i * hidden : (i + 1) * hidden] for i in range(gates)]
        return np.concatenate([blocks[i] for i in order], 1).T[None].astype(np.float32)

    def reorder_bias(bias):
        return np.concatenate([bias[i * hidden : (i + 1) * hidden] for i in order])

    acts = [_activation(cell.recurrent_activation), _activation(cell.activation)] if gates > 1 else []
    acts += [_activation(cell.activation)] if kind == "LSTM" else []
    acts = acts or [_activation(cell.activation)]
    if None in acts:
        return None
    w = reorder(np.asarray(cell.kernel))
    r = reorder(np.asarray(cell.recurrent_kernel))
    attrs = {"hidden_size": hidden}
    if acts != _DEFAULTS[kind]:
        attrs["activations"] = acts
    b = None
    if cell.use_bias:
        bias = np.asarray(cell.bias)
        if kind == "GRU" and cell.reset_after:
            b = np.concatenate([reorder_bias(bias[0]), reorder_bias(bias[1])])
        else:
            b = np.concatenate([reorder_bias(bias.reshape(-1)), np.zeros(gates * hidden, bias.dtype)])
        b = b[None].astype(np.float32)
    if kind == "GRU":
        attrs["linear_before_reset"] = int(bool(cell.reset_after))
    return w, r, b, attrs


def native_recurrences(onnx_model, keras_model):
    """Replace the tf.while_loop of each plain Keras recurrent layer by its ONNX op (see above);
    returns the names of the layers replaced."""
    from onnx import helper, numpy_helper

    layers = _layers(keras_model)
    if not layers:
        return []
    g = onnx_model.graph
    read = set(i for n in g.node for i in n.input) | set(o.name for o in g.output)
    nodes, done = [], []
    for node in g.node:
        layer = _layer_of(node.name, layers) if node.op_type == "Loop" else None
        kind = type(layer).__name__ if layer is not None else None
        body = [a.g for a in node.attribute if a.name == "body"]
        carried = len(node.input) - 2
        x = _outer_sequence(body[0]) if body and kind in _KINDS else None
        scans = list(node.output[carried:])
        if (
            x is None
            or len(scans) != 1
            or any(o in read for o in node.output[:carried])
            or any(n.op_type in _MASKS for n in body[0].node)
        ):
            nodes.append(node)
            continue
        found = _onnx_weights(layer, kind)
        if found is None:
            nodes.append(node)
            continue
        w, r, b, attrs = found
        stem = re.sub(r"/while_loop$", "", node.name)
        names = [stem + "/W", stem + "/R"] + ([stem + "/B"] if b is not None else [])
        for name, arr in zip(names, (w, r, b)):
            g.initializer.append(numpy_helper.from_array(arr, name))
        axes = stem + "/direction_axis"
        g.initializer.append(numpy_helper.from_array(np.array([1], np.int64), axes))
        y = stem + "/Y"
        nodes.append(helper.make_node(_KINDS[kind][0], [x] + names, [y], name=stem, **attrs))
        nodes.append(helper.make_node("Squeeze", [y, axes], [scans[0]], name=stem + "/squeeze"))
        done.append(stem)
    del g.node[:]
    g.node.extend(nodes)
    return done

"""Keras models -> ONNX layer by layer, for the layers whose meaning is plain (convolutions, batch
normalization, pooling, dense, merges, activations); any other model goes through tf2onnx.

Why by hand: tf2onnx traces the model, freezes it, has TensorFlow fold its constants and runs its
optimizers, holding the weights five to seven times over (a Keras InceptionV3, 92 MB of weights:
1.3 GB in the runner, 10 s) and folding batch normalization into the convolutions. Here each layer
becomes the ONNX nodes it means, its weights are read from the Keras variables only when the IR's
weights file is written (one array at a time, `located` of onnx_models.to_ir), and a batch
normalization stays one, as in the source.

Layout: as in the tf2onnx path the graph takes the model's inputs as they are (NHWC images); a 4-D
value is carried channels-first (NCHW) between the layers that want it so, with a Transpose where
a layer needs the Keras axis order (Flatten, Reshape, a model output). Values are named for their
layers. Converters are in keras_layers.py, one function per layer class.
"""

import numpy as np

from runners.common import ir
from runners.common.naming import rename_value, unique_name
from runners.common.registry import Registry

LAYERS = Registry("keras", "parse")

TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)


class NotNative(Exception):
    """The model has a layer (or a setting of one) converted here only by tf2onnx."""

    def __init__(self, layer, why):
        Exception.__init__(self, "%s (%s): %s" % (getattr(layer, "name", "?"), type(layer).__name__, why))


class Value(object):
    """A Keras tensor in the graph: its ONNX name, its Keras shape (batch first, channels last) and
    whether it is carried channels-first."""

    __slots__ = ("name", "shape", "nchw")

    def __init__(self, name, shape, nchw=False):
        self.name, self.shape, self.nchw = name, tuple(shape), nchw

    @property
    def rank(self):
        return len(self.shape)

    def axis(self, keras_axis):
        """The ONNX axis of Keras axis `keras_axis` (may be negative) of this value."""
        a = keras_axis % self.rank
        return TO_NCHW.index(a) if self.nchw else a


class Lazy(object):
    """An initializer's array, made from a Keras variable when the weights file is written."""

    __slots__ = ("variable", "transform")

    def __init__(self, variable, transform=None):
        self.variable, self.transform = variable, transform

    def read(self):
        value = np.asarray(self.variable.numpy(), dtype=np.float32)
        return np.ascontiguousarray(self.transform(value) if self.transform else value)


class KerasGraph(object):
    """The ONNX graph being built, with helpers the layer converters share."""

    def __init__(self):
        from onnx import TensorProto

        self.nodes = []
        self.initializers = []  # TensorProtos: small ones with data, weights with dims only
        self.located = {}  # weight name -> Lazy
        self.float = TensorProto.FLOAT
        self._names = set()
        self._layouts = {}  # (value name, nchw) -> Value, so a Transpose is made once

    def unique(self, name):
        return unique_name(self._names, name)

    def node(self, op, inputs, name, **attrs):
        """Add node `op`; returns its output's name (`name`, made unique)."""
        from onnx import helper

        out = self.unique(name)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def weight(self, name, variable, shape, transform=None):
        """An initializer read from `variable` (through `transform`) when the weights are written."""
        from onnx import TensorProto

        init = TensorProto()
        init.name = self.unique(name)
        init.data_type = self.float
        init.dims.extend(int(d) for d in shape)
        self.initializers.append(init)
        self.located[init.name] = Lazy(variable, transform)
        return init.name

    def constant(self, name, array):
        """A small initializer with its data in the graph."""
        from onnx import numpy_helper

        init = numpy_helper.from_array(np.asarray(array), self.unique(name))
        self.initializers.append(init)
        return init.name

    def nchw(self, value):
        """`value` carried channels-first (a 4-D value)."""
        if value.nchw or value.rank != 4:
            return value
        return self._transposed(value, True)

    def plain(self, value):
        """`value` in Keras's own axis order."""
        return self._transposed(value, False) if value.nchw else value

    def _transposed(self, value, nchw):
        key = (value.name, nchw)
        if key not in self._layouts:
            perm = TO_NCHW if nchw else TO_NHWC
            out = self.node("Transpose", [value.name], value.name + ("/nchw" if nchw else "/nhwc"), perm=list(perm))
            self._layouts[key] = Value(out, value.shape, nchw)
        return self._layouts[key]

    def rename(self, old, new):
        """Make value `old` be called `new` (a model output keeps its Keras name), and so the node
        that makes it."""
        rename_value(self.nodes, old, new)
        for node in self.nodes:
            if node.name == old:
                node.name = new


def _nodes(model):
    """The model's layer calls, inputs first: (layer, [input KerasHistory], [output tensors])."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:  # a Keras 3 Sequential is run by its functional model
        inner = getattr(model, "_functional", None)
        by_depth = getattr(inner, "_nodes_by_depth", None)
        if by_depth is None:
            raise NotNative(model, "a model that is not a graph of layers")
    import tensorflow as tf

    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if hasattr(node, "keras_inputs"):  # tf_keras
                layer, arguments = node.layer, (node.call_args, _no_training(node.call_kwargs))
                inputs, outputs = list(node.keras_inputs), tf.nest.flatten(node.outputs)
            else:  # Keras 3
                layer, arguments = node.operation, (node.arguments.args, _no_training(node.arguments.kwargs))
                inputs, outputs = list(node.input_tensors), list(node.output_tensors)
            if layer is not None and type(layer).__name__ != "InputLayer":
                others = [a for a in tf.nest.flatten(arguments) if a is not None and not hasattr(a, "_keras_history")]
                if others:  # x * 0.5 written in a model is a Multiply called with a number
                    raise NotNative(layer, "called with %r beside its input tensors" % (others[0],))
            yield layer, inputs, outputs


def _no_training(kwargs):
    """A call's keyword arguments but `training`, which a converted (inference) graph ignores."""
    return {k: v for k, v in (kwargs or {}).items() if k != "training"}


def _key(tensor):
    hist = tensor._keras_history
    op = getattr(hist, "operation", None) or getattr(hist, "layer", None)
    return (op.name, hist.node_index, hist.tensor_index)


def _shape(tensor):
    return tuple(None if d is None else int(d) for d in tensor.shape)


def convert(model, input_names, input_shapes, output_names):
    """(ONNX ModelProto whose weights have no data, {weight name: Lazy}) for a Keras model all of
    whose layers are converted here; NotNative otherwise. `input_shapes` are the static shapes the
    graph inputs get (batch 1, --inputShape applied)."""
    from onnx import TensorProto, helper

    from . import keras_layers  # noqa: F401  (registers the converters)

    g = KerasGraph()
    for t in model.inputs:
        if str(getattr(t.dtype, "name", t.dtype)) != "float32":
            raise NotNative(model, "an input of type %s" % getattr(t.dtype, "name", t.dtype))
    values = {}
    graph_inputs = []
    for tensor, name, shape in zip(model.inputs, input_names, input_shapes):
        g._names.add(name)
        values[_key(tensor)] = Value(name, shape)
        graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
    seen = set()
    for layer, inputs, outputs in _nodes(model):
        if type(layer).__name__ == "InputLayer":
            continue
        if id(layer) in seen:
            raise NotNative(layer, "a layer called more than once")
        seen.add(id(layer))
        if str(getattr(layer, "dtype", "float32")) not in ("float32", "<dtype: 'float32'>"):
            raise NotNative(layer, "weights of type %s" % layer.dtype)
        module = type(layer).__module__
        if not module.startswith(("keras.src.layers.", "tf_keras.src.layers.")):
            raise NotNative(layer, "an operation of %s, not a Keras layer" % module)  # keras.ops on a KerasTensor
        fn = LAYERS.lookup(type(layer).__name__, ir.IR_OPSET)
        if fn is None:
            raise NotNative(layer, "no converter for the layer")
        try:
            args = [values[_key(t)] for t in inputs]
        except KeyError:
            raise NotNative(layer, "an input that is not a layer's output")
        made = fn(g, layer, args, [_shape(t) for t in outputs])
        if len(made) != len(outputs):
            raise NotNative(layer, "%d outputs, %d converted" % (len(outputs), len(made)))
        for tensor, value in zip(outputs, made):
            values[_key(tensor)] = value
    graph_outputs, taken = [], set(input_names)
    for tensor, name in zip(model.outputs, output_names):
        own = values[_key(tensor)]
        value = g.plain(own)
        if value.name in taken:
            raise NotNative(model, "an output that is an input or another output")
        if own.nchw and own.name == name:  # the layer's name goes to its output in Keras's axis order
            g.rename(own.name, g.unique(name + "/nchw"))
            g._names.discard(name)
        if value.name != name:
            if name in g._names:
                raise NotNative(model, "output name %s taken by another value" % name)
            g.rename(value.name, name)
            g._names.add(name)
        taken.update((value.name, name))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    graph = helper.make_graph(g.nodes, model.name or "keras", graph_inputs, graph_outputs, g.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    onnx_model.ir_version = 8
    return onnx_model, g.located

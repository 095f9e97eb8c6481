"""IR graph -> Caffe net: `<name>.prototxt` (the readable net) and `<name>.caffemodel` (the same
layers with their blobs), written with caffe_pb2.

One converter per ONNX op in `emit_ops/`, registered with `EMIT.register("Op")`, run by the shared
emit loop (runners/common/emit.py) over the canonical, legalized IR. Blobs are named after the IR
values they hold, so Caffe's `net.blobs` report the IR's names. What Caffe cannot express is
refused with the node and op named, never approximated.
"""

import os
import re

import numpy as np

from runners.common.emit import EmitContext, emit_nodes
from runners.common.emit_graph import read_graph
from runners.common.errors import RunnerError
from runners.common.registry import Registry
from runners.common.tensors import atomic_write, load_npz

from .proto import caffe_pb2

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
# Caffe's average pooling divides by the window clipped to the padded image (padding counted);
# InnerProduct holds a constant (num_output, K) matrix and a bias, nothing more; LRN's window is
# centred (odd sizes).
LACKS = ("AveragePool.exclude_pad", "Gemm.general", "LRN.even_size")

EMIT = Registry("caffe", "emit", package="runners.caffe.emit_ops")


def registry():
    return EMIT.loaded()


class CaffeContext(EmitContext):
    """The emit context plus the Caffe net being written: layers named after the node, blobs named
    after the IR values they hold, constants materialized as Parameter layers where a layer needs
    them as a blob."""

    framework = "caffe"

    def __init__(self, model, weights):
        EmitContext.__init__(self, model, weights)
        self.pb2 = caffe_pb2()
        self.net = self.pb2.NetParameter()
        self.layer_names = set()
        self.blob_names = set()
        self.alias = {}  # IR value -> blob holding it (a Slice that cuts nothing, a one-input Sum)
        self.const_blobs = {}  # IR constant -> blob of its Parameter layer

    def blob(self, value):
        """The Caffe blob holding IR value `value`; a constant becomes a Parameter layer."""
        if value in self.alias:
            return self.alias[value]
        if value in self.consts:
            if value not in self.const_blobs:
                self.const_blobs[value] = self.parameter(self.consts[value], top=value, name=value)
            return self.const_blobs[value]
        return value

    def parameter(self, array, top=None, name=None):
        """A Parameter layer whose top is the constant `array`; returns the top."""
        array = np.asarray(array, dtype=np.float32)
        top = top or self.temp("constant")
        layer = self.layer("Parameter", [], [top], name=name or top)
        layer.parameter_param.shape.dim.extend(int(d) for d in array.shape)
        self.add_blob(layer, array)
        return top

    def filled(self, shape, value, suffix="filled"):
        """A DummyData blob of `shape` holding `value` everywhere (no weights stored)."""
        top = self.temp(suffix)
        layer = self.layer("DummyData", [], [top], name=top)
        p = layer.dummy_data_param
        filler = p.data_filler.add()
        filler.type, filler.value = "constant", float(value)
        p.shape.add().dim.extend(int(d) for d in shape)
        return top

    def layer(self, type_, bottoms, tops, name=None):
        layer = self.net.layer.add()
        base = name or self.node.name
        unique, i = base, 1
        while unique in self.layer_names:
            unique = "%s_%d" % (base, i)
            i += 1
        self.layer_names.add(unique)
        layer.name, layer.type = unique, type_
        layer.bottom.extend(bottoms)
        layer.top.extend(tops)
        self.blob_names.update(tops)
        return layer

    def add_blob(self, layer, array):
        array = np.asarray(array, dtype=np.float32)
        blob = layer.blobs.add()
        blob.shape.SetInParent()  # a 0-axis blob (PReLU's shared slope) still has a shape
        blob.shape.dim.extend(int(d) for d in array.shape)
        blob.data.extend(array.ravel().tolist())
        return blob

    def temp(self, suffix):
        """A fresh blob name for an intermediate of the current node."""
        base = "%s/%s" % (self.node.outputs[0] if self.node else "net", suffix)
        name, i = base, 1
        while name in self.blob_names or name in self.consts or name in self.shapes:
            i += 1
            name = "%s_%d" % (base, i)
        self.blob_names.add(name)
        return name


def _input_layer(ctx, inputs):
    """The Input layer (first in the net); returns the inputs whose shape is not known."""
    if not inputs:
        return []
    data = ctx.net.layer.add()
    data.name, data.type = "input", "Input"
    unknown = []
    for i in inputs:
        data.top.append(i.name)
        shape = ctx.shape(i.name)
        if shape is not None and 0 in shape:
            raise RunnerError(
                "unsupported-attribute",
                "input '%s' is empty (shape %s); Caffe blobs are not empty" % (i.name, shape),
                framework="caffe",
                hint="give the input a non-empty shape (--inputShape), or convert to another target",
            )
        static = ctx.static_shape(i.name)
        if static is None:
            unknown.append(i.name)
        data.input_param.shape.add().dim.extend(static or [])
    return unknown


def build(model, weights):
    ctx = CaffeContext(model, weights)
    g = model.graph
    unknown = _input_layer(ctx, ctx.inputs)
    emit_nodes(registry(), ctx)  # the nodes' refusals first: an input read as a parameter is refused there
    if unknown:
        raise RunnerError(
            "missing-input-shape",
            "input %s has no static shape; a Caffe Input layer needs one" % ", ".join(unknown),
            hint="give it with --inputShape",
        )
    outputs = [o.name for o in g.output]
    for name in outputs:
        if name in ctx.consts:  # a constant output (every input of its node was constant)
            ctx.blob(name)
    expose_consumed_outputs(ctx.net, outputs)
    for name in outputs:
        if name in ctx.alias:  # an output that is another value under a second name
            ctx.layer("Split", [ctx.alias[name]], [name], name=name)  # a one-top Split copies
    # an input no layer reads would become an extra Caffe net output
    ctx.check_inputs_read(set(b for layer in ctx.net.layer for b in layer.bottom))
    return ctx


def expose_consumed_outputs(net, outputs):
    """Caffe reports only blobs no layer reads as a net's outputs: an IR output that other layers
    read is computed under `<name>/value` and copied to `<name>` by a one-top Split."""
    read = set(b for layer in net.layer for b in layer.bottom)
    for name in outputs:
        if name not in read:
            continue
        inner = name + "/value"
        for layer in net.layer:
            layer.bottom[:] = [inner if b == name else b for b in layer.bottom]
            layer.top[:] = [inner if t == name else t for t in layer.top]
        copy = net.layer.add()
        copy.name, copy.type = name + "/output", "Split"
        copy.bottom.append(inner)
        copy.top.append(name)


def net_text(net):
    from google.protobuf import text_format

    plain = caffe_pb2().NetParameter()
    plain.CopyFrom(net)
    for layer in plain.layer:
        del layer.blobs[:]
    return text_format.MessageToString(plain)


def stem_of(name):
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name) or "model"


def emit(graph_bytes, weights_path, out_dir, name):
    """Write `<out_dir>/<name>.prototxt` and `<out_dir>/<name>.caffemodel`."""
    model = read_graph(graph_bytes)
    weights = load_npz(weights_path)
    ctx = build(model, weights)
    stem = stem_of(name or model.graph.name)
    ctx.net.name = stem
    os.makedirs(out_dir, exist_ok=True)
    net_path = os.path.join(out_dir, stem + ".prototxt")
    weights_path = os.path.join(out_dir, stem + ".caffemodel")
    write_pair(ctx.net, net_path, weights_path)
    return net_path, weights_path, ctx.warnings


def write_pair(net, net_path, weights_path):
    text = net_text(net)
    data = net.SerializeToString()

    def write_bytes(content, mode):
        def write(tmp):
            with open(tmp, mode) as f:
                f.write(content)

        return write

    atomic_write(weights_path, write_bytes(data, "wb"))
    try:
        atomic_write(net_path, write_bytes(text, "w"))
    except BaseException:
        os.unlink(weights_path)
        raise

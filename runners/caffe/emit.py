"""IR graph -> Caffe net: `<name>.prototxt` (the readable net) and `<name>.caffemodel` (the same
layers with their blobs), written with caffe_pb2.

One converter per ONNX op in `emit_ops/`, registered with `EMIT.register("Op")`. Blobs are named
after the IR values they hold, so Caffe's `net.blobs` report the IR's names. What Caffe cannot
express (asymmetric padding, pooling that excludes padding, broadcasting it has no layer for) is
refused with the node and op named, never approximated.
"""

import os
import re

import numpy as np

from runners.common import ir
from runners.common.emit_graph import convert_nodes, ordered_nodes, read_graph
from runners.common.emit_graph import infer_shapes as _infer
from runners.common.errors import RunnerError
from runners.common.registry import Registry
from runners.common.tensors import atomic_write, load_npz

from .proto import caffe_pb2

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
LACKS = ("Gemm.general",)

EMIT = Registry("caffe", "emit", package="runners.caffe.emit_ops")


def registry():
    return EMIT.loaded()


class EmitContext(object):
    def __init__(self, model, opset, shapes, dtypes):
        self.pb2 = caffe_pb2()
        self.model = model
        self.opset = opset
        self.shapes = shapes
        self.dtypes = dtypes
        self.consts = {}
        self.alias = {}  # IR value -> blob holding it (Identity, Dropout)
        self.net = self.pb2.NetParameter()
        self.layer_names = set()
        self.node = None
        self.warnings = []

    def shape(self, value):
        s = self.shapes.get(value)
        return None if s is None or any(d is None for d in s) else [int(d) for d in s]

    def const(self, value):
        return self.consts.get(value) if value else None

    def fail(self, message, hint=""):
        return RunnerError(
            "unsupported-attribute",
            "Caffe cannot express this: %s" % message,
            node=self.node.name if self.node else "",
            op=self.node.op_type if self.node else "",
            opset=self.opset,
            hint=hint or "convert to another framework, or change the model so Caffe has a layer for it",
        )

    def blob(self, value):
        """The Caffe blob holding IR value `value` (a computed value, not a constant)."""
        if value in self.alias:
            return self.alias[value]
        if value in self.consts:
            raise self.fail("input '%s' is a constant where Caffe needs a computed blob" % value)
        return value

    def static_shape(self, value):
        s = self.shape(value)
        if s is None:
            raise self.fail("the shape of '%s' is not known" % value, hint="give static input shapes (--inputShape)")
        return s

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
        return layer

    def add_blob(self, layer, array):
        array = np.asarray(array, dtype=np.float32)
        blob = layer.blobs.add()
        blob.shape.SetInParent()  # a 0-axis blob (PReLU's shared slope) still has a shape
        blob.shape.dim.extend(int(d) for d in array.shape)
        blob.data.extend(array.ravel().tolist())
        return blob

    def temp(self, suffix):
        return "%s/%s" % (self.node.outputs[0], suffix)


def build(model, weights):
    reg = registry()
    opset = ir.opset_of(model)
    shapes, dtypes = _infer(model, weights)
    ctx = EmitContext(model, opset, shapes, dtypes)
    g = model.graph
    inputs, nodes = ordered_nodes(model, weights, ctx)
    data = ctx.net.layer.add()
    data.name, data.type = "input", "Input"
    for i in inputs:
        data.top.append(i.name)
        shape = ctx.shape(i.name)
        if shape is None:
            raise RunnerError(
                "missing-input-shape",
                "input '%s' has no static shape; a Caffe Input layer needs one" % i.name,
                hint="give it with --inputShape",
            )
        data.input_param.shape.add().dim.extend(shape)
    convert_nodes(reg, nodes, ctx, opset, fold_constants=True)
    expose_consumed_outputs(ctx.net, [o.name for o in g.output])
    for o in g.output:
        if o.name in ctx.alias:  # an output that is another value under a second name
            ctx.layer("Split", [ctx.alias[o.name]], [o.name], name=o.name)  # a one-top Split copies
        elif o.name in ctx.consts:
            raise RunnerError("unsupported-op", "output '%s' is a constant; Caffe nets compute every output" % o.name)
    _check_inputs_used(ctx.net, [i.name for i in inputs], [o.name for o in g.output])
    return ctx


def _check_inputs_used(net, inputs, outputs):
    """An input no layer reads (it set a shape, axes or a ratio at run time, which a Caffe layer
    takes as a fixed parameter) would become an extra net output: refuse it."""
    read = set(b for layer in net.layer for b in layer.bottom)
    unused = [i for i in inputs if i not in read and i not in outputs]
    if unused:
        raise RunnerError(
            "unsupported-attribute",
            "input(s) %s set a parameter at run time (a shape, axes, a ratio); Caffe layers take "
            "those as fixed values" % ", ".join(unused),
            hint="make them constants (initializers) in the source model, or convert to another target",
        )


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

"""Caffe .prototxt + .caffemodel -> IR (ONNX opset 18), from caffe.proto alone: no Caffe code runs.

Every layer type has one converter in `parse_ops/`, registered with `PARSE.register("Type")`; it reads
the layer's parameters and blobs from `ctx`, adds ONNX nodes and sets the shapes of its tops with
Caffe's own shape rules (ceil-mode pooling, InnerProduct axis, Reshape 0/-1 ...), so the IR says
exactly what Caffe computes.

Value names: a blob keeps its name for the last value Caffe leaves in it (what `net.blobs[name]`
shows after a forward pass); the values an in-place layer overwrites are `<blob>/<layer>`.
"""

import json
import re

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.onnx_models import ir_request, set_metadata, to_ir
from runners.common.registry import Registry

from . import netdef

PARSE = Registry("caffe", "parse", package="runners.caffe.parse_ops")


def registry():
    return PARSE.loaded()


class ParseContext(object):
    def __init__(self, net):
        self.net = net
        self.nodes = []
        self.inits = {}
        self.values = {}  # blob -> current ONNX value
        self.shapes = {}  # ONNX value -> shape
        self.names = set()
        self.layer = None
        self.top_names = []

    # --- naming
    def unique(self, name):
        base, i = name, 1
        while name in self.names:
            name = "%s_%d" % (base, i)
            i += 1
        self.names.add(name)
        return name

    def temp(self, suffix):
        return self.unique("%s/%s" % (self.layer.name, suffix))

    # --- reading the layer
    def fail(self, reference, message, hint=""):
        return RunnerError(
            reference, message, file=self.net.net_path, node=self.layer.name, op=self.layer.type, hint=hint
        )

    def bottom(self, i=0):
        if i >= len(self.layer.bottom):
            raise self.fail("invalid-model", "needs at least %d bottom blob(s)" % (i + 1))
        blob = self.layer.bottom[i]
        if blob not in self.values:
            raise self.fail(
                "invalid-model",
                "bottom blob '%s' is produced by no earlier layer" % blob,
                hint="check the layer order and the blob names in the .prototxt",
            )
        return self.values[blob]

    def shape(self, i=0):
        return list(self.shapes[self.bottom(i)])

    def top(self, i=0):
        return self.top_names[i]

    def set_shape(self, i, shape):
        self.shapes[self.top_names[i]] = [int(d) for d in shape]

    def blob(self, i, expected, what="weights"):
        """Blob `i` of this layer from the .caffemodel, checked against `expected` (Caffe's rule:
        a legacy 4-D blob matches when its leading ones are dropped)."""
        if not self.net.weights_path:
            raise self.fail(
                "missing-file",
                "the layer has %s but no .caffemodel was given" % what,
                hint="pass the trained weights with -iw weights.caffemodel",
            )
        blobs = self.net.weights.get(self.layer.name)
        if blobs is None or i >= len(blobs):
            raise RunnerError(
                "weights-mismatch",
                "the .caffemodel has %s for layer '%s' (blob %d, %s)"
                % ("no blobs" if blobs is None else "only %d blob(s)" % len(blobs), self.layer.name, i, what),
                file=self.net.weights_path,
                node=self.layer.name,
                op=self.layer.type,
                hint="the .caffemodel was trained for another .prototxt; give the matching pair",
            )
        data, stored = netdef.blob_array(blobs[i])
        expected = [int(d) for d in expected]
        if data.size != int(np.prod(stored)):
            raise RunnerError(
                "corrupt-model",
                "blob %d (%s) of layer '%s' says shape %s but holds %d values"
                % (i, what, self.layer.name, stored, data.size),
                file=self.net.weights_path,
                node=self.layer.name,
                op=self.layer.type,
                hint="the .caffemodel is damaged; save it again",
            )
        if stored != expected and _strip_ones(stored) != _strip_ones(expected):
            raise RunnerError(
                "weights-mismatch",
                "blob %d (%s) of layer '%s' has shape %s in the .caffemodel; the .prototxt makes it %s"
                % (i, what, self.layer.name, stored, expected),
                file=self.net.weights_path,
                node=self.layer.name,
                op=self.layer.type,
                hint="the .caffemodel was trained for another .prototxt (or other input shape); give the matching pair",
            )
        return data.reshape(expected)

    def has_blob(self, i):
        return i < len(self.net.weights.get(self.layer.name, []))

    # --- writing ONNX
    def const(self, suffix, array, dtype=np.float32):
        name = self.unique("%s.%s" % (self.layer.name, suffix))
        self.inits[name] = np.asarray(array, dtype=dtype)
        self.shapes[name] = list(np.shape(array))
        return name

    def node(self, op, inputs, outputs, **attrs):
        from onnx import helper

        name = self.layer.name if not any(n.name == self.layer.name for n in self.nodes) else self.temp(op)
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))
        return outputs[0] if outputs else None


def _strip_ones(shape):
    shape = list(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def input_shapes(net, specs):
    """{input blob: shape} from the prototxt, replaced by --inputShape where given."""
    shapes = dict((name, shape) for name, shape in net.inputs)
    names = [name for name, _ in net.inputs]
    for i, spec in enumerate(specs):
        name = spec.name or (names[i] if i < len(names) else "")
        if name not in shapes:
            raise RunnerError(
                "unknown-node",
                "the net has no input '%s' (inputs: %s)" % (name, names),
                file=net.net_path,
                hint="name one of the net's inputs",
            )
        if spec.shape:
            given = [int(d) for d in spec.shape]
            declared = shapes.get(name) or []
            if len(given) == len(declared) - 1:  # MMdnn's form, without the batch
                given = [1] + given
            shapes[name] = given
    missing = [n for n in names if not shapes.get(n)]
    if missing:
        raise RunnerError(
            "missing-input-shape",
            "the .prototxt gives no shape for input %s" % ", ".join(missing),
            file=net.net_path,
            hint="give it with --inputShape %s:1,3,224,224" % missing[0],
        )
    if not names:
        raise RunnerError(
            "invalid-model",
            "the net declares no input (input:/input_shape or an Input layer)",
            file=net.net_path,
            hint="give a deploy .prototxt; train_val nets read Data layers",
        )
    for name in names:
        check_blob_shape(name, shapes[name], net.net_path)
    return shapes


CAFFE_MAX_COUNT = 2**31 - 1  # a Blob's count is an int: Caffe aborts on more values


def check_blob_shape(name, shape, path, layer=""):
    """Caffe aborts its process on a blob with a negative dimension or more than INT_MAX values:
    refuse those shapes while parsing, naming the input or the layer that makes the blob."""
    count = 1
    for d in shape:
        count *= max(int(d), 0)
    if all(int(d) > 0 for d in shape) and count <= CAFFE_MAX_COUNT:
        return
    what = "blob '%s' of layer '%s'" % (name, layer) if layer else "input '%s'" % name
    raise RunnerError(
        "bad-shape",
        "%s has shape %s; Caffe blobs need positive sizes and at most %d values"
        % (what, [int(d) for d in shape], CAFFE_MAX_COUNT),
        file=path,
        node=layer,
        hint="give the input's real size with --inputShape" + ("" if layer else " %s:1,3,224,224" % name),
    )


def last_writers(layers, inputs):
    last = dict((name, -1) for name in inputs)
    for i, layer in enumerate(layers):
        for top in layer.top:
            last[top] = i
    return last


def convert(net, specs):
    reg = registry()
    seen = set()
    for layer in net.layers:
        if not layer.type.strip():
            raise RunnerError(
                "invalid-model", "layer '%s' has no type" % layer.name, file=net.net_path, node=layer.name
            )
        if layer.name in seen:
            raise RunnerError(
                "invalid-model",
                "two layers are named '%s'; Caffe gives each its weights by name" % layer.name,
                file=net.net_path,
                node=layer.name,
                op=layer.type,
                hint="give every layer its own name",
            )
        seen.add(layer.name)
    missing = [(layer.name, layer.type) for layer in net.layers if reg.lookup(layer.type, 1) is None]
    if missing:
        err = UnsupportedOps("parse", "caffe", missing)
        err.file = net.net_path
        err.hint = "these Caffe layer types have no converter; replace them in the .prototxt"
        raise err
    ctx = ParseContext(net)
    shapes = input_shapes(net, specs)
    inputs = [name for name, _ in net.inputs]
    for name in inputs:
        ctx.names.add(name)
        ctx.values[name] = name
        ctx.shapes[name] = shapes[name]
    last = last_writers(net.layers, inputs)
    available = []
    for index, layer in enumerate(net.layers):
        ctx.layer = layer
        ctx.top_names = []
        for top in layer.top:
            name = top if last[top] == index else "%s/%s" % (top, layer.name)
            if last[top] == index:
                ctx.names.add(name)
            else:
                name = ctx.unique(name)
            ctx.top_names.append(name)
        for i, blob in enumerate(layer.bottom):
            ctx.bottom(i)
            if blob in available:
                available.remove(blob)
        reg.lookup(layer.type, 1)(layer, ctx)
        for top, name in zip(layer.top, ctx.top_names):
            if name not in ctx.shapes:
                raise ctx.fail(
                    "internal-bug",
                    "the %s converter set no shape for top '%s'" % (layer.type, top),
                    hint="this is a bug in mmbroker's caffe runner: report it with the .prototxt",
                )
            check_blob_shape(top, ctx.shapes[name], net.net_path, layer.name)
            ctx.values[top] = name
            available = [b for b in available if b != top] + [top]
    outputs = sorted(set(available))  # Caffe lists a net's outputs in name order
    return ctx, inputs, outputs


def to_onnx(ctx, inputs, outputs, name):
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        ctx.nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ctx.shapes[n]) for n in inputs],
        [helper.make_tensor_value_info(ctx.values[o], TensorProto.FLOAT, ctx.shapes[ctx.values[o]]) for o in outputs],
        initializer=[numpy_helper.from_array(v, k) for k, v in ctx.inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.ir_version = 8
    return model


def parse(request, workspace):
    net = netdef.load(list(request.sources), dict(request.options))
    ctx, inputs, outputs = convert(net, list(request.inputs))
    model = to_onnx(ctx, inputs, outputs, net.name)
    model.producer_name = "mmbroker caffe runner"
    shapes = [(n, ctx.shapes[n]) for n in inputs]
    set_metadata(
        model,
        {"source_framework": "caffe", "source_format": "prototxt+caffemodel", "input_shapes": json.dumps(dict(shapes))},
    )
    req = ir_request(request, workspace, shapes)
    return to_ir(model, req, net.net_path, name=re.sub(r"[^0-9A-Za-z_.-]+", "_", net.name) or "model")

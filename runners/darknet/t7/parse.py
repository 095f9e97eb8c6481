"""Torch7 .t7 networks -> IR (ONNX opset 18): the module tree walked from the root, one converter
per nn class in `t7_ops/` (registered with `T7.register("Name")`, the name without its `nn.`,
`cudnn.`, `cunn.` or `fbcunn.` package). Every class without a converter is listed at once, with
its place in the tree.

A converter takes (module, ctx, x), where x is a value name or, after a ConcatTable, a list of
value names (a Lua table of tensors), and returns the same. Value names follow OpenCV's importer
(`l<k>_<type>`: `l1_Convolution`, `l3_Pooling`, `l7_torchMerge`, counted as its importer counts
layers), so the intermediate values of OpenCV's run line up with the IR's.

Torch7 files carry no input shape: --inputShape gives it (N,C,H,W, or C,H,W as MMdnn took it).
"""

import json

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.onnx_models import ir_request, set_metadata, to_ir
from runners.common.registry import Registry

from . import reader

T7 = Registry("torch7", "parse", package="runners.darknet.t7_ops")
INPUT = "data"
PACKAGES = ("nn.", "cunn.", "cudnn.", "fbcunn.")


def registry():
    return T7.loaded()


def nn_name(obj):
    """'SpatialConvolution' for an nn.SpatialConvolution (or cudnn.*), else None."""
    if not isinstance(obj, reader.TorchObject):
        return None
    for p in PACKAGES:
        if obj.class_name.startswith(p):
            return obj.class_name[len(p) :]
    return None


def children(module):
    """The modules of a container, in order (its `modules` table, keyed 1..n)."""
    mods = module.get("modules") or {}
    if isinstance(mods, dict):
        keys = sorted(k for k in mods if isinstance(k, float))
        return [mods[k] for k in keys]
    return []


def walk(module, path="1"):
    """(path, module) of every module in the tree, depth first ("1.2.1" = root's 2nd child's 1st)."""
    yield path, module
    for i, child in enumerate(children(module), 1):
        for item in walk(child, "%s.%d" % (path, i)):
            yield item


class T7Context(object):
    def __init__(self, path):
        self.path = path
        self.nodes = []
        self.inits = {}
        self.shapes = {}
        self.counter = 0  # OpenCV's layer counter
        self.where = ""  # the module being converted: "1.3 (nn.SpatialConvolution)"

    def fail(self, reference, message, hint=""):
        return RunnerError(reference, message, file=self.path, node=self.where.split(" ")[0], op=self.where, hint=hint)

    def layer_name(self, kind):
        self.counter += 1
        return "l%d_%s" % (self.counter, kind)

    def shape(self, value):
        return list(self.shapes[value])

    def const(self, name, array, dtype=np.float32):
        self.inits[name] = np.asarray(array, dtype=dtype)
        self.shapes[name] = list(np.shape(array))
        return name

    def node(self, op, inputs, out, shape, **attrs):
        from onnx import helper

        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        self.shapes[out] = [int(d) for d in shape]
        return out

    def number(self, module, key, default=None):
        value = module.get(key, default)
        if value is None:
            raise self.fail("corrupt-model", "has no field '%s'" % key)
        if not isinstance(value, (float, int, bool)):
            raise self.fail("corrupt-model", "field '%s' is a %s, not a number" % (key, type(value).__name__))
        return value

    def tensor(self, module, key, shape=None, required=True):
        value = module.get(key)
        if value is None or (isinstance(value, np.ndarray) and value.size == 0):
            if required:
                raise self.fail("corrupt-model", "has no tensor '%s'" % key)
            return None
        if not isinstance(value, np.ndarray):
            raise self.fail("corrupt-model", "field '%s' is a %s, not a tensor" % (key, type(value).__name__))
        if shape is not None:
            if value.size != int(np.prod(shape)):
                raise self.fail(
                    "corrupt-model",
                    "'%s' has %d values (shape %s); %s needs %s"
                    % (key, value.size, list(value.shape), key, list(shape)),
                )
            value = value.reshape(shape)
        return value.astype(np.float32)

    def convert(self, module, x, path):
        name = nn_name(module)
        where = self.where
        self.where = "%s (%s)" % (path, module.class_name)
        try:
            return registry().lookup(name, 1)(module, self, x, path)
        finally:
            self.where = where


def check_classes(root, path):
    reg = registry()
    if nn_name(root) is None:
        raise RunnerError(
            "corrupt-model",
            "the file holds a %s, not an nn module"
            % (root.class_name if isinstance(root, reader.TorchObject) else type(root).__name__),
            file=path,
            hint="save the network (an nn.Sequential or other nn module) with torch.save",
        )
    missing = []
    for where, module in walk(root):
        name = nn_name(module)
        if name is None or reg.lookup(name, 1) is None:
            cls = module.class_name if isinstance(module, reader.TorchObject) else type(module).__name__
            missing.append("module %s (%s)" % (where, cls))
    if missing:
        raise RunnerError(
            "unsupported-op",
            "%d module(s) of classes without a converter: %s" % (len(missing), "; ".join(missing[:20])),
            file=path,
            node=missing[0].split(" ")[1],
            op=missing[0].split("(")[1].rstrip(")"),
            nodes=missing,
            hint="classes converted: %s" % ", ".join(reg.ops()),
        )


def input_shape(specs, path):
    shapes = [list(s.shape) for s in specs if s.shape]
    if not shapes:
        raise RunnerError(
            "missing-input-shape",
            "a Torch7 file does not store its input shape",
            file=path,
            hint="give it with --inputShape 1,3,224,224 (or 3,224,224)",
        )
    shape = [int(d) for d in shapes[0]]
    return [1] + shape if len(shape) == 3 else shape


def convert(root, path, specs):
    check_classes(root, path)
    ctx = T7Context(path)
    ctx.shapes[INPUT] = input_shape(specs, path)
    out = ctx.convert(root, INPUT, "1")
    if isinstance(out, list):
        raise RunnerError(
            "unsupported-op",
            "the network ends with a table of %d tensors" % len(out),
            file=path,
            hint="end the network with a module that joins the table (nn.JoinTable, nn.CAddTable)",
        )
    return ctx, out


def to_onnx(ctx, output):
    from onnx import TensorProto, helper, numpy_helper

    if output == INPUT:
        raise RunnerError("unsupported-op", "the network computes nothing (its output is its input)", file=ctx.path)
    graph = helper.make_graph(
        ctx.nodes,
        "torch7",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ctx.shapes[INPUT])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ctx.shapes[output])],
        initializer=[numpy_helper.from_array(v, k) for k, v in ctx.inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.ir_version = ir.IR_VERSION
    return model


def t7_file(sources):
    files = [s for s in sources if s.lower().endswith((".t7", ".net"))]
    if len(files) != 1 or len(sources) != 1:
        raise RunnerError("missing-file", "expected one .t7 file, got %s" % list(sources), hint="pass -in net.t7")
    return files[0]


def parse(request, workspace):
    path = t7_file(list(request.sources))
    root = reader.read(path)
    ctx, output = convert(root, path, list(request.inputs))
    model = to_onnx(ctx, output)
    model.producer_name = "mmbroker torch7 reader"
    shapes = [(INPUT, ctx.shapes[INPUT])]
    set_metadata(model, {"source_framework": "torch7", "source_format": "t7", "input_shapes": json.dumps(dict(shapes))})
    req = ir_request(request, workspace, shapes)
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "model"
    return to_ir(model, req, path, name=stem)

"""DarkNet .cfg + .weights -> IR (ONNX opset 18), by the runner's own readers: no DarkNet code runs.

Every section type has one converter in `parse_ops/`, registered with `PARSE.register("type")`. A
converter reads its keys from the section (each read marks the key used), takes its weights from
the .weights stream in DarkNet's order, adds ONNX nodes, and ends with `ctx.finish(value)`.
Converters write straightforward ONNX: the broker canonicalizes the graph (constants folded,
Identity removed) before any target sees it.

Value names follow DarkNet's layer numbering (what `darknet detector` prints when it loads a cfg):
the input is `data`, the output of layer i is `layer_i`, and a layer's inner values are
`layer_i/conv`, `layer_i/bn`, `layer_i/fc` (OpenCV's `conv_i`, `bn_i`, `fullyConnected_i`), so
intermediate values of OpenCV's run line up with the IR by layer index. Layers that compute nothing
(a [route] of one whole layer, [dropout], [cost], a raw [yolo] head) add no node: their value is
the one they pass on.

Outputs: the value of every [yolo]/[region] layer (raw head outputs: the convolution output each
reads, unless box decoding is asked for), else the last layer's value.
"""

import json

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.onnx_models import ir_request, set_metadata, to_ir
from runners.common.registry import Registry

from . import cfg as cfgmod
from .weights import Weights

PARSE = Registry("darknet", "parse", package="runners.darknet.parse_ops")
INPUT = "data"


def registry():
    return PARSE.loaded()


def value_name(index):
    return "layer_%d" % index


class ParseContext(object):
    def __init__(self, cfg, weights, options=None):
        self.cfg = cfg
        self.weights = weights
        self.options = dict(options or {})
        self.nodes = []
        self.inits = {}
        self.shapes = {}  # value -> shape
        self.values = []  # layer index -> value name
        self.heads = []  # values of [yolo]/[region] layers, in order
        self.layer = None
        self.last_weighted = None  # the last section that read weights

    # --- the layer being converted
    def fail(self, reference, message, key=None, hint=""):
        return self.layer.error(reference, message, key, hint)

    def refuse(self, key, why, hint=""):
        """An unsupported value of `key` in this section."""
        return self.fail(
            "unsupported-attribute", "%s=%s: %s" % (key, self.layer.text(key), why), key, hint or "remove or change it"
        )

    @property
    def index(self):
        return self.layer.index

    def layer_value(self, ref, key):
        """The value of the layer `ref` names (negative: relative to this layer), as DarkNet resolves
        route `layers` and shortcut `from`."""
        target = ref + self.index if ref < 0 else ref
        if not 0 <= target < self.index:
            raise self.fail(
                "corrupt-model",
                "%s refers to layer %d, which is not an earlier layer (this is layer %d)" % (key, target, self.index),
                key,
                hint="a layer can only read layers before it",
            )
        return self.values[target]

    def prev(self):
        return self.values[-1] if self.values else INPUT

    def shape(self, value):
        return list(self.shapes[value])

    # --- weights
    def take(self, shape, what):
        self.last_weighted = self.layer
        return self.weights.take(int(np.prod(shape)), self.layer, what).reshape(shape)

    # --- writing ONNX
    def temp(self, suffix):
        return "%s/%s" % (value_name(self.index), suffix)

    def const(self, suffix, array, dtype=None):
        """An initializer `layer_i.suffix`: float32 unless `dtype` (or the array's integer dtype) says."""
        name = "%s.%s" % (value_name(self.index), suffix)
        if dtype is None:
            dtype = array.dtype if isinstance(array, np.ndarray) and array.dtype.kind in "iu" else np.float32
        self.inits[name] = np.asarray(array, dtype=dtype)
        self.shapes[name] = list(np.shape(array))
        return name

    def node(self, op, inputs, shape, suffix=None, **attrs):
        """Add `op` writing the value `layer_i/suffix` (or `layer_i` without suffix) of `shape`."""
        from onnx import helper

        out = self.temp(suffix) if suffix else value_name(self.index)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        self.shapes[out] = [int(d) for d in shape]
        return out

    def finish(self, value):
        """`value` is this layer's output: the last node of the layer is renamed `layer_i`; a value of
        another layer is passed on as it is."""
        final = value_name(self.index)
        if value != final and self.nodes and self.nodes[-1].output[0] == value and value.startswith(final + "/"):
            node = self.nodes[-1]
            node.output[0] = final
            node.name = final
            self.shapes[final] = self.shapes.pop(value)
            value = final
        self.values.append(value)
        return value


def input_shape(cfg, specs):
    """[1, channels, height, width] from [net], replaced by --inputShape (NCHW, or CHW as MMdnn)."""
    net = cfg.net
    dims = [net.int("channels", 3), net.int("height", 416), net.int("width", 416)]
    net.use_all()  # the rest of [net] is training setup
    shape = [1] + dims
    for spec in specs:
        if spec.name and spec.name != INPUT:
            raise RunnerError(
                "bad-input",
                "a DarkNet net has one input, '%s'; --inputShape names '%s'" % (INPUT, spec.name),
                file=cfg.path,
                hint="give --inputShape 1,3,416,416 (or data:1,3,416,416)",
            )
        given = [int(d) for d in spec.shape]
        if len(given) == 3:
            given = [1] + given
        if len(given) != 4:
            raise RunnerError(
                "bad-shape",
                "--inputShape %s: a DarkNet input is N,C,H,W (or C,H,W)" % ",".join(map(str, spec.shape)),
                file=cfg.path,
                hint="e.g. --inputShape 1,3,416,416",
            )
        shape = given
    if any(d <= 0 for d in shape):
        raise RunnerError(
            "bad-shape",
            "input shape %s from [net] (line %d) is not positive" % (shape, net.line),
            file=cfg.path,
            hint="set width, height and channels in [net], or give --inputShape",
        )
    return shape


def convert(cfg, weights, specs, options=None):
    reg = registry()
    missing = [s for s in cfg.layers if reg.lookup(s.kind, 1) is None]
    if missing:
        names = [
            "layer %d [%s] at line %d%s"
            % (s.index, s.header, s.line, "" if s.kind in cfgmod.DARKNET_TYPES else " (no DarkNet layer type)")
            for s in missing
        ]
        raise RunnerError(
            "unsupported-op",
            "%d section(s) have no converter: %s" % (len(missing), "; ".join(names)),
            file=cfg.path,
            node="layer %d" % missing[0].index,
            op=missing[0].header,
            nodes=names,
            hint="sections converted: %s" % ", ".join("[%s]" % k for k in reg.ops()),
        )
    ctx = ParseContext(cfg, weights, options)
    ctx.shapes[INPUT] = input_shape(cfg, specs)
    for section in cfg.layers:
        ctx.layer = section
        before = len(ctx.values)
        reg.lookup(section.kind, 1)(section, ctx)
        if len(ctx.values) != before + 1:
            raise RuntimeError("converter of [%s] did not finish layer %d" % (section.kind, section.index))
        unused = section.unused()
        if unused:
            raise section.error(
                "unsupported-attribute",
                "%s: key%s %s not converted" % (section.label, "s" if len(unused) > 1 else "", ", ".join(unused)),
                unused[0],
                hint="these keys change what the layer computes and have no conversion; remove them if they are "
                "defaults",
            )
    weights.finish(ctx.last_weighted)
    if not cfg.layers:
        raise RunnerError("corrupt-model", "the cfg has no layers after [net]", file=cfg.path)
    outputs = list(ctx.heads) or [ctx.values[-1]]
    return ctx, outputs


def to_onnx(ctx, outputs, name):
    from onnx import TensorProto, helper, numpy_helper

    seen = []
    for o in outputs:
        if o not in seen:
            seen.append(o)
    graph = helper.make_graph(
        ctx.nodes,
        name,
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ctx.shapes[INPUT])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ctx.shapes[o]) for o in seen],
        initializer=[numpy_helper.from_array(v, k) for k, v in ctx.inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.ir_version = ir.IR_VERSION
    return model


def split_sources(sources):
    cfgs = [s for s in sources if s.lower().endswith(".cfg")]
    weights = [s for s in sources if not s.lower().endswith(".cfg")]
    if len(cfgs) != 1 or len(weights) != 1:
        raise RunnerError(
            "missing-file",
            "expected one .cfg and one .weights, got %s" % list(sources),
            hint="pass -in yolov3.cfg -iw yolov3.weights",
        )
    return cfgs[0], weights[0]


def start_option(options, path):
    start = options.get("darknetStart")
    if start in (None, ""):
        return None
    if start not in ("0", "1"):
        raise RunnerError(
            "bad-option",
            "--darknetStart %s: 0 (32-bit 'seen' in the header) or 1 (64-bit)" % start,
            file=path,
            hint="leave it out: the header's version says which",
        )
    return int(start)


def parse(request, workspace):
    options = dict(request.options)
    cfg_path, weights_path = split_sources(list(request.sources))
    cfg = cfgmod.read(cfg_path)
    weights = Weights(weights_path, start_option(options, weights_path))
    if weights.transposed and any(s.kind == "connected" for s in cfg.layers):
        raise RunnerError(
            "unsupported-attribute",
            "version %s marks [connected] weights stored transposed, which neither this reader nor OpenCV's reads"
            % weights.version,
            file=weights_path,
            hint="save the weights again with a current DarkNet",
        )
    ctx, outputs = convert(cfg, weights, list(request.inputs), options)
    model = to_onnx(ctx, outputs, "darknet")
    model.producer_name = "mmbroker darknet runner"
    shapes = [(INPUT, ctx.shapes[INPUT])]
    set_metadata(
        model,
        {
            "source_framework": "darknet",
            "source_format": "cfg+weights",
            "darknet_weights_header": weights.describe_header(),
            "input_shapes": json.dumps(dict(shapes)),
        },
    )
    req = ir_request(request, workspace, shapes)
    stem = cfg_path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "model"
    return to_ir(model, req, cfg_path, name=stem)

"""CoreML NeuralNetwork spec -> ONNX graph at the IR opset, one converter per layer type
(`parse_ops/`). Used by Parse (CoreML as a source) and by Infer on Linux, which runs the translated
graph with onnxruntime: a spec interpretation, not Apple's runtime.

Blobs are CoreML's classic rank-5 values; a blob (C, H, W) is the IR value [N, C, H, W] and a blob
(F, 1, 1) that comes from an inner product or a flatten is the IR value [N, F]. The context tracks
which of the two ranks each blob has and converts where a layer needs the other.
"""

import os

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file
from runners.common.naming import rename_value
from runners.common.registry import Registry

PARSE = Registry("coreml", "parse", package="runners.coreml.parse_ops")
NETWORK_TYPES = ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor")


def registry():
    return PARSE.loaded()


def load_spec(path):
    """The Model protobuf of an .mlmodel file, with errors that name the file."""
    from coremltools.proto import Model_pb2

    if os.path.isdir(path) and path.rstrip("/").endswith(".mlpackage"):  # an ML Program package is read elsewhere
        raise corrupt(path, "not an .mlpackage (no Manifest.json)", "CoreML .mlpackage")
    require_file(path)
    spec = Model_pb2.Model()
    try:
        with open(path, "rb") as f:
            spec.ParseFromString(f.read())
    except Exception as exc:
        raise corrupt(path, exc, "CoreML model")
    kind = spec.WhichOneof("Type")
    if spec.specificationVersion <= 0 or kind is None:
        raise RunnerError(
            "corrupt-model",
            "cannot read this CoreML model: no specification version or model type",
            file=path,
            hint="the file is truncated or not an .mlmodel; export it again",
        )
    if kind not in NETWORK_TYPES:
        raise RunnerError(
            "unsupported-format",
            "this CoreML model is a %s; the CoreML runner reads NeuralNetwork models" % kind,
            file=path,
            hint="only neuralNetwork, neuralNetworkClassifier and neuralNetworkRegressor specs are parsed",
        )
    return spec


def weights(w, ctx, what="weights"):
    """A WeightParams message as float32."""
    if len(w.floatValue):
        return np.asarray(w.floatValue, dtype=np.float32)
    if len(w.float16Value):
        return np.frombuffer(w.float16Value, dtype=np.float16).astype(np.float32)
    if len(w.rawValue) or w.HasField("quantization"):
        raise ctx.fail("quantized %s are not read" % what, hint="save the model with float32 weights")
    return np.zeros(0, np.float32)


class ParseContext(object):
    def __init__(self, path):
        self.path = path
        self.nodes = []
        self.inits = {}
        self.ranks = {}  # blob -> 2 or 4
        self.values = {}  # blob -> IR value name (preprocessed inputs)
        self.nchw = {}  # [N, F] blob -> its [N, F, 1, 1] value
        self.nf = {}  # [N, C, 1, 1] blob -> its [N, C] value
        self.layer = None
        self.taken = set()  # every blob name of the spec, and the names tmp() gave
        self._n = 0

    # -- graph building -------------------------------------------------------------------------
    def node(self, op, inputs, outputs, suffix="", **attrs):
        from onnx import helper

        base = self.layer.name if self.layer is not None else "node"
        self._n += 1
        name = base + ("/" + suffix if suffix else "") if self.layer is not None else "%s_%d" % (base, self._n)
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))
        return outputs[0] if outputs else None

    def tmp(self, suffix, base=None):
        """A name for a value between the nodes of one layer, unused by any blob of the spec."""
        base = base if base is not None else self.layer.output[0]
        name, i = "%s:%s" % (base, suffix), 1
        while name in self.taken:
            i += 1
            name = "%s:%s_%d" % (base, suffix, i)
        self.taken.add(name)
        return name

    def const(self, suffix, array):
        base = self.layer.name if self.layer is not None else "const"
        name = "%s/%s" % (base, suffix)
        i = 1
        while name in self.inits:
            i += 1
            name = "%s/%s_%d" % (base, suffix, i)
        self.inits[name] = np.asarray(array)
        return name

    def rank(self, blob):
        if blob not in self.ranks:
            raise self.fail("input blob '%s' is produced by no earlier layer" % blob)
        return self.ranks[blob]

    def x(self, blob):
        """Blob as an [N, C, H, W] value."""
        name = self.values.get(blob, blob)
        if self.rank(blob) == 4:
            return name
        key = self.nchw.get(blob)
        if key is None:
            key = self.nchw[blob] = self.tmp("nchw", blob)
            axes = self.const("unsqueeze_axes", np.array([2, 3], np.int64))
            self.node("Unsqueeze", [name, axes], [key], suffix="to_nchw")
            self.ranks[key] = 4
        return key

    def any(self, blob):
        """Blob as it is, [N, C, H, W] or [N, F]."""
        self.rank(blob)
        return self.values.get(blob, blob)

    def vec(self, blob):
        """Blob as an [N, F] value (an [N, F, 1, 1] blob is flattened)."""
        if self.rank(blob) == 2:
            return self.values.get(blob, blob)
        key = self.nf.get(blob)
        if key is None:
            key = self.nf[blob] = self.tmp("nf", blob)
            self.node("Flatten", [self.values.get(blob, blob)], [key], suffix="to_nf", axis=1)
            self.ranks[key] = 2
        return key

    def out(self, i=0, rank=4):
        blob = self.layer.output[i]
        self.ranks[blob] = rank
        self.values.pop(blob, None)
        self.nchw.pop(blob, None)
        self.nf.pop(blob, None)
        return blob

    def fail(self, message, hint=""):
        layer = self.layer
        return RunnerError(
            "unsupported-attribute",
            message,
            file=self.path,
            node=layer.name if layer is not None else "",
            op=layer.WhichOneof("layer") if layer is not None else "",
            hint=hint or "this CoreML layer configuration has no IR translation yet",
        )


def _network(spec):
    return getattr(spec, spec.WhichOneof("Type"))


def _input_shape(feature, ctx, given):
    t = feature.type
    kind = t.WhichOneof("Type")
    if kind == "multiArrayType":
        shape = [int(d) for d in t.multiArrayType.shape]
        if not shape and t.multiArrayType.HasField("shapeRange"):
            shape = [int(r.lowerBound) for r in t.multiArrayType.shapeRange.sizeRanges]
        if len(shape) not in (1, 3):
            raise RunnerError(
                "unsupported-attribute",
                "input '%s' has shape %s; only (C, H, W) and (F,) inputs are read" % (feature.name, shape),
                file=ctx.path,
            )
        return [1] + shape
    if kind == "imageType":
        channels = 1 if t.imageType.colorSpace == t.imageType.GRAYSCALE else 3
        return [1, channels, int(t.imageType.height), int(t.imageType.width)]
    raise RunnerError(
        "unsupported-attribute", "input '%s' is of type %s, not an array or image" % (feature.name, kind), file=ctx.path
    )


def _preprocess(spec, net, ctx, feature, shape):
    """Image preprocessing (per-channel scale and bias) as IR nodes in front of the network."""
    for pre in net.preprocessing:
        if pre.featureName not in ("", feature.name):
            continue
        kind = pre.WhichOneof("preprocessor")
        if kind == "meanImage":
            raise RunnerError("unsupported-attribute", "mean-image preprocessing is not read", file=ctx.path)
        if kind != "scaler":
            continue
        s = pre.scaler
        t = feature.type.imageType
        if shape[1] == 1:
            bias = [s.grayBias]
        elif t.colorSpace == t.BGR:
            bias = [s.blueBias, s.greenBias, s.redBias]
        else:
            bias = [s.redBias, s.greenBias, s.blueBias]
        scale = s.channelScale if s.channelScale != 0 else 1.0
        scaled = ctx.node(
            "Mul",
            [feature.name, ctx.const(feature.name + "/scale", np.array(scale, np.float32))],
            [ctx.tmp("scaled", feature.name)],
        )
        b = ctx.const(feature.name + "/bias", np.array(bias, np.float32).reshape(1, -1, 1, 1))
        ctx.values[feature.name] = ctx.node("Add", [scaled, b], [ctx.tmp("preprocessed", feature.name)])


def spec_to_onnx(spec, path, input_shapes=None):
    """An ONNX ModelProto (IR opset, weights inside) computing what the spec computes."""
    from onnx import TensorProto, helper, numpy_helper

    net = _network(spec)
    ctx = ParseContext(path)
    layers = list(net.layers)
    ctx.taken.update(f.name for f in spec.description.input)
    ctx.taken.update(o for layer in layers for o in layer.output)
    reg = registry()
    missing = [(layer.name, layer.WhichOneof("layer") or "unknown") for layer in layers]
    reg.check(missing, ir.IR_OPSET)
    graph_inputs = []
    for feature in spec.description.input:
        shape = (input_shapes or {}).get(feature.name) or _input_shape(feature, ctx, None)
        graph_inputs.append(helper.make_tensor_value_info(feature.name, TensorProto.FLOAT, shape))
        ctx.ranks[feature.name] = 4 if len(shape) == 4 else 2
        if feature.type.WhichOneof("Type") == "imageType":
            _preprocess(spec, net, ctx, feature, shape)
    for layer in layers:
        ctx.layer = layer
        fn = reg.lookup(layer.WhichOneof("layer"), ir.IR_OPSET)
        fn(layer, getattr(layer, layer.WhichOneof("layer")), ctx)
    ctx.layer = None
    outputs = _outputs(spec, ctx)
    graph = helper.make_graph(
        ctx.nodes,
        "coreml",
        graph_inputs,
        outputs,
        [numpy_helper.from_array(a, n) for n, a in ctx.inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.producer_name = "mmbroker coreml runner"
    meta = {
        "source_framework": "coreml",
        "source_format": "mlmodel",
        "coreml_specification_version": str(spec.specificationVersion),
        "coreml_model_type": spec.WhichOneof("Type"),
    }
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v

    return model


def _outputs(spec, ctx):
    from onnx import TensorProto, helper

    kind = spec.WhichOneof("Type")
    prob_blob = spec.neuralNetworkClassifier.labelProbabilityLayerName if kind == "neuralNetworkClassifier" else ""
    out = []
    for feature in spec.description.output:
        t = feature.type.WhichOneof("Type")
        blob = feature.name
        want = None
        if t == "multiArrayType":
            declared = list(feature.type.multiArrayType.shape)
            want = {1: 2, 3: 4}.get(len(declared))
        elif t == "dictionaryType" and kind == "neuralNetworkClassifier":
            blob = prob_blob or ctx.nodes[-1].output[0]
            want = 2
        else:
            continue  # the class label string of a classifier: no tensor
        if blob not in ctx.ranks:
            raise RunnerError("invalid-model", "no layer produces output '%s'" % feature.name, file=ctx.path)
        have = ctx.ranks[blob]
        value = ctx.values.get(blob, blob)
        if want is not None and want != have:
            value = ctx.vec(blob) if want == 2 else ctx.x(blob)
        if value != feature.name:
            if any(feature.name in n.output for n in ctx.nodes):
                _rename(ctx, feature.name, feature.name + "/raw")
            ctx.nodes.append(helper.make_node("Identity", [value], [feature.name], name=feature.name + "/output"))
        out.append(helper.make_tensor_value_info(feature.name, TensorProto.FLOAT, None))
    return out


def _rename(ctx, old, new):
    """Rename value `old` everywhere in the nodes built so far (a feature name taken by a blob)."""
    rename_value(ctx.nodes, old, new)
    if old in ctx.ranks:
        ctx.ranks[new] = ctx.ranks[old]

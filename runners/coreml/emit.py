"""IR graph -> CoreML NeuralNetwork spec (coremltools' NeuralNetworkBuilder), one layer converter
per IR op (`ops/`), in CoreML's classic rank-5 layout (see `context`)."""

import contextlib
import sys

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.onnx_models import first_line, ir_model
from runners.common.registry import discover, onnx_attributes

from .context import EMIT, EmitContext, IRNode

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
LACKS = ("AveragePool.exclude_pad_asymmetric", "Gemm.general")

_discovered = []


def registry():
    if not _discovered:
        discover("runners.coreml.ops")
        _discovered.append(True)
    return EMIT


@contextlib.contextmanager
def quiet_stdout():
    """coremltools prints on stdout, which belongs to the runner's handshake: send it to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _shapes(model):
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:
        inferred = model
    return ir.value_shapes(inferred)


def _chw(name, shape, path, what):
    if shape is not None and len(shape) not in (2, 4):
        raise RunnerError(
            "unsupported-attribute",
            "the %s '%s' has shape %s; a CoreML NeuralNetwork %s is [N, C, H, W] or [N, F]" % (what, name, shape, what),
            file=path,
            hint="convert to another target framework",
        )
    if shape is None or any(d is None or d <= 0 for d in shape):
        raise RunnerError(
            "missing-input-shape",
            "the %s '%s' has shape %s; a CoreML NeuralNetwork needs known sizes" % (what, name, shape),
            file=path,
            hint="give the input shapes with --inputShape",
        )
    return [int(d) for d in shape[1:]]


def build_spec(graph_bytes, weights_path, path=""):
    """The NeuralNetwork spec (a coremltools Model protobuf) of an IR graph and its weights."""
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder
    from onnx import numpy_helper

    model = ir_model(graph_bytes, weights_path)
    opset = ir.opset_of(model)
    consts = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    nodes = [IRNode(n, i) for i, n in enumerate(model.graph.node)]
    reg = registry()
    reg.check([(n.name, n.op) for n in nodes if n.op != "Constant"], opset)
    shapes = _shapes(model)
    inputs = [
        (vi.name, datatypes.Array(*_chw(vi.name, shapes.get(vi.name), path, "input"))) for vi in ir.graph_inputs(model)
    ]
    outputs = [(o.name, datatypes.Array(*_chw(o.name, shapes.get(o.name), path, "output"))) for o in model.graph.output]
    with quiet_stdout():
        builder = NeuralNetworkBuilder(inputs, outputs, use_float_arraytype=True)
    ctx = EmitContext(builder, shapes, consts, opset, path)
    for node in nodes:
        ctx.node = node
        attrs = onnx_attributes(node.proto)
        if node.op == "Constant":
            consts[node.outputs[0]] = _constant(attrs)
            continue
        fn = reg.lookup(node.op, opset)
        try:
            with quiet_stdout():
                fn(node, ctx, **attrs)
        except RunnerError:
            raise
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise
            raise ctx.fail("attribute not converted: %s" % first_line(exc))
        except (ValueError, AssertionError) as exc:
            raise ctx.fail("coremltools rejects this layer: %s" % first_line(exc))
    for o in model.graph.output:
        blob = ctx.aliases.get(o.name, o.name)
        if blob != o.name:
            if blob in consts:
                raise RunnerError("unsupported-attribute", "output '%s' is a constant" % o.name, file=path)
            builder.add_activation("%s/copy" % o.name, "LINEAR", blob, o.name, params=[1.0, 0.0])
    spec = builder.spec
    spec.description.metadata.shortDescription = "converted by mmbroker from the IR (opset %d)" % opset
    for p in model.metadata_props:
        spec.description.metadata.userDefined["mmbroker." + p.key] = p.value
    return spec


def _constant(attrs):
    from onnx import numpy_helper

    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dt in (("value_float", np.float32), ("value_int", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dt)
    for key, dt in (("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return np.array(list(attrs[key]), dtype=dt)
    raise RunnerError("unsupported-attribute", "a Constant without a tensor value is not converted", op="Constant")


def save_spec(spec, path):
    from runners.common.tensors import atomic_write

    data = spec.SerializeToString()

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write)

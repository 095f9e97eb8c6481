"""IR graph -> CoreML NeuralNetwork spec (coremltools' NeuralNetworkBuilder), one layer converter
per IR op (`emit_ops/`), in CoreML's classic rank-5 layout (see `context`)."""

import contextlib
import sys

import numpy as np

from runners.common.emit import emit_nodes
from runners.common.emit_graph import read_graph
from runners.common.errors import RunnerError
from runners.common.tensors import load_npz

from .context import EMIT, CoreMLContext

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize). The
# inner product takes a constant weight [C_out, C_in] and a bias; transA, alpha, beta and a computed
# B are rewritten into that form (or into a MatMul this emitter then refuses). CoreML's LRN layer
# centres its window (odd sizes); ONNX's even-size window leans forward, written out by the broker.
LACKS = ("Gemm.general", "LRN.even_size")


def registry():
    return EMIT.loaded()


@contextlib.contextmanager
def quiet_stdout():
    """coremltools prints on stdout, which belongs to the runner's handshake: send it to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _chw(ctx, name, what):
    dtype = ctx.dtype(name)
    if dtype is not None and np.dtype(dtype) != np.float32:
        raise RunnerError(
            "unsupported-attribute",
            "the %s '%s' is %s; a CoreML NeuralNetwork computes float32 values" % (what, name, np.dtype(dtype).name),
            file=ctx.path,
            node=name,
            framework="coreml",
        )
    shape = ctx.shape(name)
    if shape is None or len(shape) not in (2, 4) or any(d is None or d <= 0 for d in shape):
        raise RunnerError(
            "unsupported-attribute",
            "the %s '%s' has shape %s; a CoreML NeuralNetwork %s is [N, C, H, W] or [N, F] with known sizes"
            % (what, name, shape, what),
            file=ctx.path,
            node=name,
            framework="coreml",
            hint="give the input shapes with --inputShape, or convert to an ML Program (-om model.mlpackage)",
        )
    return [int(d) for d in shape[1:]]


def build_spec(graph_bytes, weights_path, path=""):
    """The NeuralNetwork spec (a coremltools Model protobuf) of an IR graph and its weights."""
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder

    model = read_graph(graph_bytes)
    ctx = CoreMLContext(model, load_npz(weights_path), None, path)
    inputs = [(vi.name, datatypes.Array(*_chw(ctx, vi.name, "input"))) for vi in ctx.inputs]
    outputs = [(o.name, datatypes.Array(*_chw(ctx, o.name, "output"))) for o in model.graph.output]
    with quiet_stdout():
        ctx.builder = NeuralNetworkBuilder(inputs, outputs, use_float_arraytype=True)
        emit_nodes(registry(), ctx)
    for o in model.graph.output:
        if o.name in ctx.consts:
            raise RunnerError(
                "unsupported-attribute",
                "the output '%s' is a constant; a NeuralNetwork's outputs are computed from its inputs" % o.name,
                file=path,
                node=o.name,
                framework="coreml",
            )
        blob = ctx.aliases.get(o.name, o.name)
        if blob != o.name:
            ctx.builder.add_activation("%s/copy" % o.name, "LINEAR", blob, o.name, params=[1.0, 0.0])
    spec = ctx.builder.spec
    spec.description.metadata.shortDescription = "converted by mmbroker from the IR (opset %d)" % ctx.opset
    for p in model.metadata_props:
        spec.description.metadata.userDefined["mmbroker." + p.key] = p.value
    return spec


def save_spec(spec, path):
    from runners.common.tensors import atomic_write

    data = spec.SerializeToString()

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write)

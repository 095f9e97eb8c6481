"""TensorFlow/Keras models -> ONNX through tf2onnx (with its optimizers, the transpose optimizer
among them) -> the IR through runners.common.onnx_models.to_ir. A Keras model whose layers
keras_graph.py converts (convolutional networks) is converted layer by layer instead, without
tf2onnx.

Layout: the IR keeps the source model's input layout (NHWC for images), so the source model and
the IR take the same tensors; tf2onnx puts one Transpose to NCHW behind each image input and its
transpose optimizer pushes the rest out of the graph.
"""

import contextlib
import os
import sys

from runners.common import ir
from runners.common.errors import RunnerError, UnsupportedOps
from runners.common.onnx_models import first_line, to_ir
from runners.common.rpc import pb

from . import graphs, loading, tf2onnx_memory
from .parse_recurrent import native_recurrences

TF2ONNX_OPSET = ir.IR_OPSET


@contextlib.contextmanager
def quiet_stdout():
    """Libraries print progress on stdout, which belongs to the runner's handshake."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def keras_input_names(model):
    names = []
    for i, t in enumerate(model.inputs):
        hist = getattr(t, "_keras_history", None)
        op = getattr(hist, "operation", None) or getattr(hist, "layer", None)
        names.append(getattr(op, "name", None) or getattr(t, "name", None) or "input_%d" % i)
    return [n.split(":")[0] for n in names]


def keras_output_names(model, count):
    """The names of a Keras model's `count` outputs: its output_names, else output_0, output_1..."""
    names = list(getattr(model, "output_names", None) or [])
    return names if len(names) == count else ["output_%d" % i for i in range(count)]


def keras_input_shapes(model, specs, path):
    """Static input shapes (batch 1) from the model and --inputShape (NHWC without batch, or full)."""
    names = keras_input_names(model)
    by_name = {s.name: s for s in specs if s.name}
    unnamed = [s for s in specs if not s.name]
    shapes = []
    for i, (name, t) in enumerate(zip(names, model.inputs)):
        shape = [d if d is None else int(d) for d in t.shape]
        spec = by_name.get(name) or (unnamed[i] if i < len(unnamed) else None)
        if spec is not None and spec.shape:
            given = [int(d) if d > 0 else None for d in spec.shape]
            if len(given) == len(shape) - 1:
                given = [1] + given
            if len(given) != len(shape):
                raise RunnerError(
                    "bad-input",
                    "input '%s' has rank %d; --inputShape gave %s" % (name, len(shape), list(spec.shape)),
                    file=path,
                    node=name,
                    hint="give H,W,C (batch 1 is added) or the full shape N,H,W,C",
                )
            shape = given
        if shape and shape[0] is None:
            shape[0] = 1
        if any(d is None for d in shape):
            raise RunnerError(
                "missing-input-shape",
                "input '%s' has unknown dimensions %s" % (name, ["?" if d is None else d for d in shape]),
                file=path,
                node=name,
                hint="give them with --inputShape %s:H,W,C" % name,
            )
        shapes.append(shape)
    unknown = [n for n in by_name if n not in names]
    if unknown:
        raise RunnerError("unknown-node", "the model has no input %s (inputs: %s)" % (unknown, names), file=path)
    return names, shapes


def cut_keras(model, outputs, path):
    """The model up to the named layers (--dstNode)."""
    if not outputs:
        return model
    import keras

    known = [layer.name for layer in model.layers]
    missing = [o for o in outputs if o not in known]
    if missing:
        raise RunnerError(
            "unknown-node",
            "no layer named %s in the model" % ", ".join("'%s'" % m for m in missing),
            file=path,
            node=missing[0],
            hint="layers: %s" % ", ".join(known[-30:]),
        )
    cls = keras.Model
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras

        cls = tf_keras.Model
    return cls(model.inputs, [model.get_layer(o).output for o in outputs])


def _check_tflite(path):
    """A .tflite file is a FlatBuffer with the identifier TFL3 at bytes 4-8; tf2onnx reads anything
    else as offsets into the file and fails with a message about buffers."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] != b"TFL3":
        raise RunnerError(
            "corrupt-model",
            "not a TFLite model (no TFL3 identifier at its start)",
            file=path,
            hint="the file is truncated or not a .tflite model; export it again",
        )


def _unsupported(exc, path):
    """tf2onnx reports unsupported ops as one error per node: turn them into one RunnerError."""
    import re

    text = str(exc)
    found = re.findall(r"op \[([^\]:]+): ([^\]]+)\] is not supported", text)
    if found:
        return UnsupportedOps("parse", "tensorflow", [(n.strip(), op.strip()) for n, op in found])
    return RunnerError(
        "convert-failed", "tf2onnx could not convert the model: %s" % first_line(exc), file=path, hint=""
    )


def _convert(fn, path, lean_kw=None, **kw):
    """tf2onnx's `fn` under tf2onnx_memory.lean() with `lean_kw` added; should that fail other
    than on unsupported ops (an optimizer pass, the freezing large_model does), once more the usual
    way (tf2onnx then skips an optimizer pass that fails)."""
    try:
        with tf2onnx_memory.lean():
            return _convert_logged(fn, path, **kw, **(lean_kw or {}))
    except tf2onnx_memory.OptimizerFailed:
        pass
    except RunnerError as exc:
        if exc.reference != "convert-failed":
            raise
    return _convert_logged(fn, path, **kw)


def _convert_logged(fn, path, **kw):
    import logging

    errors = []

    class Collect(logging.Handler):
        def emit(self, record):
            errors.append(record.getMessage())

    handler = Collect(level=logging.ERROR)
    log = logging.getLogger("tf2onnx")
    log.addHandler(handler)
    try:
        with quiet_stdout():
            model, storage = fn(opset=TF2ONNX_OPSET, **kw)
        model = tf2onnx_memory.inline_external(model, storage)
    except tf2onnx_memory.OptimizerFailed:
        raise
    except Exception as exc:
        raise _unsupported(Exception("\n".join(errors + [str(exc)])), path)
    finally:
        log.removeHandler(handler)
    unsupported = _unsupported(Exception("\n".join(errors)), path) if errors else None
    if isinstance(unsupported, UnsupportedOps):
        unsupported.file = path
        raise unsupported
    return model


def _erfc(ctx, node, name, args):
    """Erfc(x) as 1 - Erf(x): tf2onnx has no handler for Erfc, which TensorFlow's exact GELU
    (Keras's 'gelu' activation) computes as 0.5 * x * erfc(-x / sqrt 2)."""
    import numpy as np
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    erf = ctx.make_node("Erf", [node.input[0]], op_name_scope=node.name)
    one = ctx.make_const(utils.make_name(node.name + "/one"), np.array(1, dtype))
    node.type = "Sub"
    ctx.replace_inputs(node, [one.output[0], erf.output[0]])


HANDLERS = {"Erfc": (_erfc, [])}  # TensorFlow ops tf2onnx lacks, in its custom_op_handlers form


def keras_to_onnx(model, specs, path):
    import tensorflow as tf
    import tf2onnx

    names, shapes = keras_input_shapes(model, specs, path)
    dtypes = [getattr(t, "dtype", "float32") for t in model.inputs]
    signature = tuple(
        tf.TensorSpec(s, tf.as_dtype(getattr(d, "name", d) or "float32"), name=n)
        for n, s, d in zip(names, shapes, dtypes)
    )
    return _convert(
        tf2onnx.convert.from_keras,
        path,
        lean_kw={"large_model": True},
        model=model,
        input_signature=signature,
        custom_op_handlers=dict(HANDLERS),
    )


def graph_to_onnx(fg, path):
    import tf2onnx

    return _convert(
        tf2onnx.convert.from_graph_def,
        path,
        graph_def=fg.graph_def,
        input_names=fg.inputs,
        output_names=fg.outputs,
        shape_override=fg.shapes,
        tensors_to_rename=fg.rename,
        custom_op_handlers=dict(HANDLERS),
    )


def drop_unused_domains(model):
    """tf2onnx imports ai.onnx.ml even when no node uses it; the IR names only what it uses."""
    used = {n.domain or "" for n in model.graph.node}
    keep = [imp for imp in model.opset_import if (imp.domain or "") in used or imp.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(keep)


def split_second_bias(model):
    """tf2onnx's Conv+BiasAdd rewrite can leave a Conv with a fourth input: a second bias over the
    channels, sometimes a computed tensor (a residual branch squeezed to [C] when the spatial size
    is 1x1). ONNX's Conv takes one bias: Conv(x, w, b, t) becomes Conv(x, w, b) + t as [C, 1, ...]."""
    from onnx import TensorProto, helper

    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        nodes.append(node)
        if node.op_type not in ("Conv", "ConvTranspose") or len(node.input) != 4:
            continue
        extra, out = node.input[3], node.output[0]
        spatial = len(weights.get(node.input[1], [])) - 2
        if spatial < 1:
            kernel = [a for a in node.attribute if a.name == "kernel_shape"]
            spatial = len(kernel[0].ints) if kernel else 2
        del node.input[3]
        node.output[0] = out + "__conv"
        shape = helper.make_tensor(out + "__bias_shape", TensorProto.INT64, [spatial + 1], [-1] + [1] * spatial)
        model.graph.initializer.append(shape)
        nodes.append(helper.make_node("Reshape", [extra, shape.name], [out + "__bias"], name=out + "__bias"))
        nodes.append(helper.make_node("Add", [node.output[0], out + "__bias"], [out], name=node.name + "/second_bias"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def keras_native(model, specs, path):
    """(ONNX model, its weights by name) converted layer by layer (keras_graph.py), or None when
    a layer needs tf2onnx (said on stderr)."""
    from . import keras_graph

    names, shapes = keras_input_shapes(model, specs, path)
    try:
        return keras_graph.convert(model, names, shapes, keras_output_names(model, len(model.outputs)))
    except keras_graph.NotNative as exc:
        sys.stderr.write("keras: converting through tf2onnx: %s\n" % exc)
        return None


def parse(req):
    sources = [os.path.abspath(s) for s in req.sources]
    src = loading.identify(sources)
    located = None
    if src.kind in ("keras", "h5", "json"):
        model = cut_keras(loading.load_keras(src, req.trust_model), list(req.outputs), src.path)
        native = keras_native(model, list(req.inputs), src.path)
        if native is not None:
            onnx_model, located = native
        else:
            onnx_model = keras_to_onnx(model, list(req.inputs), src.path)
            native_recurrences(onnx_model, model)
    elif src.kind == "tflite":
        _check_tflite(src.path)
        import tf2onnx

        onnx_model = _convert(tf2onnx.convert.from_tflite, src.path, tflite_path=src.path)
    elif src.kind == "code":
        raise RunnerError(
            "unsupported-format",
            "generated code is not a source format",
            file=src.path,
            hint="parse the .keras/.h5 file saved from it",
        )
    else:
        ins = [s.name for s in req.inputs if s.name]
        fg = graphs.load_graph(src, ins, list(req.outputs), list(req.inputs))
        onnx_model = graph_to_onnx(fg, src.path)
    onnx_model.producer_name = "mmbroker tensorflow runner (tf2onnx)"
    drop_unused_domains(onnx_model)
    split_second_bias(onnx_model)
    name = req.options.get("name") or os.path.splitext(os.path.basename(src.path.rstrip("/")))[0]
    clean = pb.ParseRequest(workspace=req.workspace, opset=req.opset)
    return to_ir(onnx_model, clean, src.path, name=name, located=located)

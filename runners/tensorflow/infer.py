"""Run TensorFlow/Keras models: Keras files with Keras, graphs in a TF session, .tflite with the
TFLite interpreter, the emitted code + weights by building the model it describes. Inputs are fed
as the model takes them (the IR's input layout, which is the source model's)."""

import os
import re

import numpy as np

from runners.common.errors import RunnerError
from runners.common.loading import named_inputs
from runners.common.rpc import pb
from runners.common.tensors import to_proto

from . import graphs, loading
from .codeload import read_sidecar
from .parse import keras_input_names, keras_output_names, quiet_stdout


def _ordered(feeds, names, path):
    if len(feeds) != len(names):
        raise RunnerError(
            "bad-input",
            "the model takes %d input(s) %s, %d given (%s)" % (len(names), names, len(feeds), sorted(feeds)),
            file=path,
            hint="give one tensor per model input",
        )
    if set(feeds) == set(names):
        return [feeds[n] for n in names]
    return list(feeds.values())


def _check_shapes(arrays, expected, names, path):
    for a, shape, name in zip(arrays, expected, names):
        if len(shape) != a.ndim or any(d is not None and int(d) != g for d, g in zip(shape, a.shape)):
            raise RunnerError(
                "bad-input",
                "input '%s' expects shape %s, given %s"
                % (name, ["?" if d is None else int(d) for d in shape], list(a.shape)),
                file=path,
                hint="give inputs of the model's shape (--inputShape / --input)",
            )


def _numpy(value):
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def run_keras(model, feeds, path):
    names = keras_input_names(model)
    arrays = _ordered(feeds, names, path)
    _check_shapes(arrays, [list(t.shape) for t in model.inputs], names, path)
    try:
        result = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    except Exception as exc:
        raise RunnerError("infer-failed", "the Keras model failed: %s" % str(exc).strip()[:500], file=path)
    if isinstance(result, dict):
        items = list(result.items())
    else:
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        items = list(zip(keras_output_names(model, len(outs)), outs))
    return [(n, _numpy(v)) for n, v in items]


def keras_intermediates(model, layers, feeds, path):
    """[(IR value, array in IR axis order)] for every layer of `layers` (name -> (IR value, storage
    axis order)) that the model has."""
    import keras

    from .codegen import inverse

    names = []
    for n in layers:
        try:
            model.get_layer(n)
            names.append(n)
        except ValueError:
            continue
    if not names:
        return []
    sub = keras.Model(inputs=model.inputs, outputs=[model.get_layer(n).output for n in names])
    arrays = _ordered(feeds, keras_input_names(model), path)
    values = sub(arrays if len(arrays) > 1 else arrays[0], training=False)
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    out = []
    for n, v in zip(names, values):
        ir_value, layout = layers[n]
        a = _numpy(v)
        if a.ndim == len(layout):
            a = np.transpose(a, inverse(layout))
        out.append((ir_value, a))
    return out


def run_tflite(path, feeds):
    import tensorflow as tf

    try:
        interp = tf.lite.Interpreter(model_path=path)
        interp.allocate_tensors()
    except Exception as exc:
        raise RunnerError("corrupt-model", "the TFLite interpreter cannot load this file: %s" % exc, file=path)
    details = interp.get_input_details()
    names = [d["name"] for d in details]
    # a SavedModel's signature names its tensors serving_default_<input>:0, in an order of its own
    plain = [re.sub(r"^serving_default_(.*):0$", r"\1", n) for n in names]
    arrays = _ordered(feeds, plain if set(plain) == set(feeds) else names, path)
    # shape_signature holds -1 where the model leaves a dimension free (a Keras model's batch)
    signatures = [[None if int(s) < 0 else int(s) for s in d.get("shape_signature", d["shape"])] for d in details]
    _check_shapes(arrays, signatures, names, path)
    resized = False
    for d, a in zip(details, arrays):
        if list(d["shape"]) != list(a.shape):  # another size of a free dimension
            interp.resize_tensor_input(d["index"], list(a.shape))
            resized = True
    if resized:
        interp.allocate_tensors()
    for d, a in zip(details, arrays):
        interp.set_tensor(d["index"], a.astype(d["dtype"], copy=False))
    interp.invoke()
    return [(d["name"], np.array(interp.get_tensor(d["index"]))) for d in _tflite_outputs(interp)]


def _tflite_outputs(interp):
    """The output tensors' details in the model's order: get_output_details() lists them in the
    converter's order (BERT's two outputs come swapped), the signature names them output_0, output_1,
    ... in the exported model's order."""
    signatures = interp.get_signature_list()
    if len(signatures) != 1:
        return interp.get_output_details()
    by_name = interp.get_signature_runner(next(iter(signatures))).get_output_details()

    def number(name):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]

    return [by_name[k] for k in sorted(by_name, key=number)]


def infer(req):
    paths = [os.path.abspath(p) for p in req.model]
    src = loading.identify(paths)
    feeds = named_inputs(req.inputs, [])
    engine = ""
    inter = []
    with quiet_stdout():
        if src.kind in ("keras", "h5", "json"):
            import keras

            model = loading.load_keras(src, req.trust_model)
            outputs = run_keras(model, feeds, src.path)
            if req.intermediates:
                inter = keras_intermediates(model, read_sidecar(src.path), feeds, src.path)
            engine = "keras %s" % (keras.__version__ if not type(model).__module__.startswith("tf_keras") else "2")
        elif src.kind == "code":
            import keras

            from .codeload import build_from_code, ir_layers

            model = build_from_code(src.path, src.extra)
            outputs = run_keras(model, feeds, src.path)
            if req.intermediates:
                inter = keras_intermediates(model, ir_layers(src.path), feeds, src.path)
            engine = "keras %s (generated code)" % keras.__version__
        elif src.kind == "tflite":
            import tensorflow as tf

            outputs = run_tflite(src.path, feeds)
            engine = "tflite interpreter (tensorflow %s)" % tf.__version__
        else:
            import tensorflow as tf

            wanted = [o for o in req.options.get("outputs", "").split(",") if o]
            specs = [pb.InputSpec(shape=list(a.shape)) for a in feeds.values()]
            fg = graphs.load_graph(src, [], wanted, specs, optimize=False)
            outputs = graphs.run(fg, feeds)
            engine = "tensorflow %s (%s)" % (tf.__version__, src.kind)
    ws = req.workspace or None
    return pb.InferResponse(
        outputs=[to_proto(n, np.asarray(v), ws) for n, v in outputs],
        intermediates=[to_proto(n, v, ws) for n, v in inter],
        engine=engine,
    )

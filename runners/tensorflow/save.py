"""Emitted code + weights -> .keras, .h5, SavedModel directory or .tflite, written atomically."""

import os
import shutil
import tempfile

from runners.common.errors import SAVE_HINT, RunnerError
from runners.common.rpc import pb
from runners.common.tensors import atomic_write, file_ref

from .codeload import build_from_code, ir_layers, write_sidecar
from .parse import quiet_stdout

FORMATS = {".keras": "keras", ".h5": "h5", ".tflite": "tflite", "": "savedmodel"}


def _format(req):
    if req.format:
        return req.format.lower().lstrip(".")
    ext = os.path.splitext(req.output.rstrip("/"))[1].lower()
    if ext not in FORMATS:
        raise RunnerError(
            "unsupported-format",
            "the tensorflow runner writes .keras, .h5, .tflite or a SavedModel directory (no extension), not '%s'"
            % ext,
            file=req.output,
            hint="name the output e.g. model.keras, model.h5, model.tflite or model_savedmodel",
        )
    return FORMATS[ext]


def _non_layers(model):
    import keras

    return [op.name for op in model.operations if not isinstance(op, keras.layers.Layer)]


def _export_dir(model, target, fixed_batch=False):
    """A SavedModel; `fixed_batch`: traced at the batch sizes of the model's inputs (Keras's export
    frees the batch otherwise, which leaves a time-major recurrent layer's steps unknown)."""
    signature = None
    if fixed_batch:
        import tensorflow as tf

        specs = [tf.TensorSpec(i.shape, i.dtype, name=i.name) for i in model.inputs]
        signature = specs if len(specs) == 1 else [specs]  # one call argument: the list of inputs
    model.export(target, format="tf_saved_model", verbose=False, input_signature=signature)


def _recurrent_layers(model):
    """(layer, runs backwards, reads a mask) for each recurrent layer, Bidirectional's two included."""
    import keras

    out = []
    for layer in model.layers:
        # the call's arguments are on the layer's inbound nodes (no public accessor in Keras 3)
        masked = any(
            getattr(getattr(n, "arguments", None), "kwargs", {}).get("mask") is not None
            for n in getattr(layer, "_inbound_nodes", [])
        )
        if isinstance(layer, keras.layers.Bidirectional):
            out += [(layer.forward_layer, False, masked), (layer.backward_layer, True, masked)]
        elif isinstance(layer, keras.layers.RNN):
            out.append((layer, layer.go_backwards, masked))
    return out


def _unroll_recurrences(model, out):
    """Keras 3's recurrent layers reach TFLite only unrolled: their loop keeps a TensorList whose
    element shape the converter requires static, and tf_keras's fused-LSTM path is not Keras 3's.
    The steps are unrolled for the .tflite only (the time length is fixed by then); a backward
    layer that reads a mask is refused, Keras unrolls it wrongly (its outputs differ from the loop's)."""
    layers = _recurrent_layers(model)
    wrong = [layer.name for layer, backwards, masked in layers if backwards and masked]
    if wrong:
        raise RunnerError(
            "unsupported-attribute",
            "TFLite needs the recurrent layers unrolled, and Keras unrolls a backward layer with a mask "
            "(ONNX sequence_lens) wrongly: %s" % ", ".join(wrong),
            file=out,
            hint="save as .keras or a SavedModel directory, or give every sequence its full length",
        )
    for layer, _, _ in layers:
        layer.unroll = True
    return layers


def _with_map(out, code_path):
    """The saved model and, beside it, the map from its layers to IR values (for intermediates)."""
    files = [file_ref(out, "model")]
    layers = ir_layers(code_path)
    if layers:
        files.append(file_ref(write_sidecar(out, layers), "ir-map"))
    return pb.SaveResponse(files=files)


def save(req):
    code = [f.path for f in req.emitted if f.path.endswith(".py")]
    weights = [f.path for f in req.emitted if f.path.endswith(".npz")]
    if len(code) != 1:
        raise RunnerError("missing-file", "Save needs the emitted .py and its .npz weights", hint=SAVE_HINT)
    fmt = _format(req)
    out = os.path.abspath(req.output.rstrip("/"))
    with quiet_stdout():
        model = build_from_code(code[0], weights)
        if fmt == "keras":
            atomic_write(out, lambda tmp: model.save(tmp + ".keras") or os.replace(tmp + ".keras", tmp))
            return _with_map(out, code[0])
        elif fmt == "h5":
            ops = _non_layers(model)
            if ops:
                raise RunnerError(
                    "unsupported-format",
                    "the legacy .h5 format stores layers only; this model also uses keras.ops (%s)"
                    % ", ".join(ops[:10]),
                    file=out,
                    hint="save as .keras, a SavedModel directory or .tflite instead",
                )
            atomic_write(out, lambda tmp: model.save(tmp + ".h5") or os.replace(tmp + ".h5", tmp))
            return _with_map(out, code[0])
        elif fmt == "savedmodel":
            parent = os.path.dirname(out)
            os.makedirs(parent, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".", dir=parent)
            try:
                _export_dir(model, os.path.join(tmp, "m"))
                if os.path.exists(out):
                    shutil.rmtree(out)
                os.replace(os.path.join(tmp, "m"), out)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return pb.SaveResponse(files=[pb.FileRef(path=out, role="model")])
        elif fmt == "tflite":
            import tensorflow as tf

            layers = _unroll_recurrences(model, out)
            tmp = tempfile.mkdtemp(prefix="mmbroker-tflite-")
            try:
                _export_dir(model, os.path.join(tmp, "m"), fixed_batch=any(layers))
                converter = tf.lite.TFLiteConverter.from_saved_model(os.path.join(tmp, "m"))
                data = converter.convert()
            except Exception as exc:
                raise RunnerError("convert-failed", "the TFLite converter failed: %s" % str(exc)[:500], file=out)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            atomic_write(out, lambda t: open(t, "wb").write(data))
        else:
            raise RunnerError("unsupported-format", "unknown format '%s'" % fmt, file=out)
    return pb.SaveResponse(files=[file_ref(out, "model")])

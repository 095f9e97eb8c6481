"""What the files given to the runner are, and loading them without running code from them.

Kinds: `keras` (Keras 3 `.keras` zip), `h5` (Keras 2 or 3 full-model HDF5), `savedmodel` (a
directory with saved_model.pb), `checkpoint` (TF1 `.meta` + checkpoint prefix), `frozen` (a
GraphDef `.pb`), `tflite`, and `code` (the `.py` + `.npz` this runner emits).

Keras configs are read as JSON and checked before Keras sees them: a Lambda layer carries
Python bytecode and a custom class runs its module's code, so both are refused unless the caller
trusts the file (`--trust-model`).
"""

import glob
import json
import os
import zipfile
from dataclasses import dataclass, field

from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file

CODE_LAYERS = ("Lambda",)  # layers whose config holds Python code
CONTAINERS = ("Functional", "Sequential", "Model")


@dataclass
class Source:
    kind: str
    path: str  # the file users name in messages
    prefix: str = ""  # checkpoint prefix
    extra: list = field(default_factory=list)  # e.g. the emitted .npz beside a .py


def _checkpoint_prefix(meta, given):
    """The checkpoint prefix from `-iw` (prefix, .index or .data-* file) or beside the .meta."""
    prefix = given or meta[: -len(".meta")]
    for suffix in (".index", ".meta"):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    if ".data-" in os.path.basename(prefix):
        prefix = prefix[: prefix.rindex(".data-")]
    index = prefix + ".index"
    data = glob.glob(glob.escape(prefix) + ".data-*-of-*")
    missing = []
    if not os.path.isfile(index):
        missing.append(os.path.basename(index))
    if not data:
        missing.append(os.path.basename(prefix) + ".data-00000-of-00001")
    else:
        total = int(data[0].rsplit("-of-", 1)[1])
        shards = {int(p.rsplit(".data-", 1)[1].split("-of-")[0]) for p in data}
        missing += [
            "%s.data-%05d-of-%05d" % (os.path.basename(prefix), i, total) for i in range(total) if i not in shards
        ]
    if missing:
        raise RunnerError(
            "missing-file",
            "the checkpoint '%s' is incomplete: %s not found" % (os.path.basename(prefix), ", ".join(missing)),
            file=meta,
            hint="a TF1 checkpoint is the .meta graph plus <prefix>.index and <prefix>.data-* files; put them "
            "beside each other and give the prefix with -iw (e.g. -iw model.ckpt)",
        )
    return prefix


def identify(sources):
    """The Source described by the given files (model first, weights/prefix after)."""
    if not sources:
        raise RunnerError("missing-file", "no model file given", hint="pass a .keras, .h5, .meta, .pb or SavedModel")
    path = sources[0].rstrip("/")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return Source("savedmodel", path)
        raise RunnerError(
            "unsupported-format",
            "this directory is not a SavedModel (no saved_model.pb in it)",
            file=path,
            hint="give the SavedModel directory, or a .keras/.h5/.meta/.pb file",
        )
    if path.endswith(".meta"):
        require_file(path, "checkpoint graph (.meta)")
        return Source("checkpoint", path, prefix=_checkpoint_prefix(path, sources[1] if len(sources) > 1 else ""))
    if path.endswith(".py"):
        npz = [s for s in sources[1:] if s.endswith(".npz")]
        return Source("code", require_file(path, "generated Keras code"), extra=npz)
    require_file(path)
    ext = os.path.splitext(path)[1].lower()
    kinds = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".pb": "frozen", ".tflite": "tflite"}
    if ext == ".pb" and os.path.basename(path) == "saved_model.pb":
        return Source("savedmodel", os.path.dirname(path))
    if ext not in kinds:
        raise RunnerError(
            "unsupported-format",
            "the tensorflow runner does not read '%s' files" % ext,
            file=path,
            hint="give a .keras, .h5, .meta (+ -iw checkpoint prefix), frozen .pb, .tflite or a SavedModel dir",
        )
    return Source(kinds[ext], path)


# ---- Keras configs ------------------------------------------------------------------------


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def keras_config(src):
    """(model config dict, keras version that wrote the file) read without loading the model."""
    if src.kind == "keras":
        try:
            with zipfile.ZipFile(src.path) as z:
                config = json.loads(z.read("config.json"))
                meta = json.loads(z.read("metadata.json")) if "metadata.json" in z.namelist() else {}
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise corrupt(src.path, exc, "Keras .keras archive")
        return config, str(meta.get("keras_version", "3"))
    import h5py

    try:
        with h5py.File(src.path, "r") as f:
            attrs = dict(f.attrs)
    except Exception as exc:
        raise corrupt(src.path, exc, "Keras .h5 file")
    if "model_config" not in attrs:
        raise RunnerError(
            "unsupported-format",
            "this .h5 file holds weights only, no model architecture",
            file=src.path,
            hint="save the whole model (model.save('m.h5')), or load it with its code and save it again",
        )
    try:
        config = json.loads(_text(attrs["model_config"]))
    except ValueError as exc:
        raise corrupt(src.path, exc, "Keras .h5 file")
    return config, _text(attrs.get("keras_version", "2"))


def layer_configs(config, path=()):
    """(name path, class_name, module) of every layer, nested models included."""
    for layer in (config.get("config") or {}).get("layers", []) or []:
        if not isinstance(layer, dict):
            continue
        cfg = layer.get("config") or {}
        name = path + (str(cfg.get("name", layer.get("name", "?"))),)
        yield "/".join(name), str(layer.get("class_name", "")), layer.get("module")
        if layer.get("class_name") in CONTAINERS:
            yield from layer_configs(layer, name)


def unsafe_layers(config, keras2):
    """Layers whose loading runs code from the file: Lambda, and classes Keras does not ship."""
    if keras2:
        import tf_keras

        known = lambda c: hasattr(tf_keras.layers, c) or c in CONTAINERS  # noqa: E731
    else:
        import keras

        known = lambda c: hasattr(keras.layers, c) or c in CONTAINERS  # noqa: E731
    bad = []
    for name, cls, module in layer_configs(config):
        if cls in CODE_LAYERS:
            bad.append("%s (%s: Python code)" % (name, cls))
        elif module:
            if not str(module).startswith("keras"):
                bad.append("%s (%s from module %s)" % (name, cls, module))
        elif not known(cls):
            bad.append("%s (custom class %s)" % (name, cls))
    return bad


def load_keras(src, trust):
    """A Keras model (Keras 3 or tf_keras, whichever wrote the file) after the safety check."""
    config, version = keras_config(src)
    keras2 = src.kind == "h5" and version.startswith("2")
    bad = unsafe_layers(config, keras2)
    if bad and not trust:
        raise RunnerError(
            "unsafe-model",
            "the model has layers whose loading would run code from the file: %s" % ", ".join(bad),
            file=src.path,
            node=bad[0].split(" ")[0],
            hint="nothing was executed; if you trust this file, run again with --trust-model",
        )
    try:
        if keras2:
            import tf_keras

            return tf_keras.models.load_model(src.path, compile=False, safe_mode=not trust)
        import keras

        if trust:
            keras.config.enable_unsafe_deserialization()
        return keras.models.load_model(src.path, compile=False, safe_mode=not trust)
    except RunnerError:
        raise
    except Exception as exc:
        raise corrupt(src.path, exc, "Keras %s model" % ("2" if keras2 else "3"))

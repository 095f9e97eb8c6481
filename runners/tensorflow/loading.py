"""What the files given to the runner are, and loading them without running code from them.

Kinds: `keras` (Keras 3 `.keras` zip), `h5` (Keras 2 or 3 full-model HDF5), `json` (a Keras
architecture from `model.to_json()` with its weights in an `.h5`, MMdnn's Keras input), `savedmodel` (a
directory with saved_model.pb), `checkpoint` (TF1 `.meta` + checkpoint prefix), `frozen` (a
GraphDef `.pb`), `tflite`, and `code` (the `.py` + `.npz` this runner emits).

Keras configs are read as JSON and checked before Keras sees them (`keras_check`, every object
in the tree): a Lambda layer carries Python bytecode and a custom class runs its module's code,
so both are refused unless the caller trusts the file (`--trust-model`).
"""

import glob
import importlib
import json
import os
import zipfile
from dataclasses import dataclass, field

from runners.common.errors import RunnerError
from runners.common.loading import corrupt, file_stamp, require_file

from . import keras_check


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
    if path.endswith(".json"):
        require_file(path, "Keras architecture (.json)")
        weights = [require_file(s, "Keras weights (.h5)") for s in sources[1:]]
        if not weights:
            raise RunnerError(
                "missing-file",
                "a Keras .json holds the architecture only; the IR needs the weights too",
                file=path,
                hint="give the weights saved with model.save_weights (e.g. -w model.h5), or save the whole model",
            )
        return Source("json", path, extra=weights[:1])
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
            hint="give a .keras, .h5, .json (+ -w weights .h5), .meta (+ -iw checkpoint prefix), frozen .pb, .tflite "
            "or a SavedModel dir",
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
    if src.kind == "json":
        try:
            with open(src.path) as f:
                config = json.load(f)
        except (OSError, ValueError) as exc:
            raise corrupt(src.path, exc, "Keras .json architecture")
        if not isinstance(config, dict) or "config" not in config:
            raise corrupt(src.path, ValueError("no model config in it"), "Keras .json architecture")
        return config, str(config.get("keras_version", "2"))
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


_last_keras = (None, None)  # (key, model) of the last Keras model loaded


def load_keras(src, trust):
    """A Keras model (Keras 3 or tf_keras, whichever wrote the file) after the safety check. The
    last one loaded is given again while its files are unchanged (their stamps) and the trust is
    the same: a conversion parses the model and the check runs it twice (batch 1 and 3), one
    request each, and loading an InceptionV3 takes 2 s. Nothing changes a loaded model: it is run
    with training=False, and the IR is made from its layers and weights as they are."""
    global _last_keras
    key = (src.kind, tuple((p,) + file_stamp(p) for p in [src.path] + list(src.extra)), bool(trust))
    if _last_keras[0] == key:
        return _last_keras[1]
    _last_keras = (None, None)  # the previous model goes before the next one loads
    model = _load_keras(src, trust)
    _last_keras = (key, model)
    return model


def _load_keras(src, trust):
    config, version = keras_config(src)
    keras2 = src.kind in ("h5", "json") and version.startswith("2")
    flavour = "tf_keras" if keras2 else "keras"
    bad = keras_check.unsafe_objects(config, flavour)
    if bad and not trust:
        shown = ["%s (%s)" % item for item in bad[:10]]
        raise RunnerError(
            "unsafe-model",
            "the model has objects whose loading would run code from the file: %s%s"
            % (", ".join(shown), " and %d more" % (len(bad) - 10) if len(bad) > 10 else ""),
            file=src.path,
            node=bad[0][0],
            nodes=["%s (%s)" % item for item in bad],
            hint="nothing was executed; --trust-model runs its code (only for a file you trust)",
        )
    custom = keras_check.extra_layers(config, flavour)
    try:
        if src.kind == "json":
            return _load_json(src, keras2, custom, trust)
        if keras2:
            import tf_keras

            return tf_keras.models.load_model(src.path, custom_objects=custom, compile=False, safe_mode=not trust)
        import keras
        from keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(not trust):  # also for the legacy .h5 reader; the runner's default stays safe
            return keras.models.load_model(src.path, custom_objects=custom, compile=False, safe_mode=not trust)
    except RunnerError:
        raise
    except Exception as exc:
        raise load_failure(src, exc, version, keras2)


def _load_json(src, keras2, custom, trust):
    """An architecture .json (checked like any Keras config) and its weights .h5 (HDF5 arrays)."""
    with open(src.path) as f:
        text = f.read()
    if keras2:
        import tf_keras

        model = tf_keras.models.model_from_json(text, custom_objects=custom)
    else:
        import keras
        from keras.src.saving.serialization_lib import SafeModeScope

        with SafeModeScope(not trust):
            model = keras.models.model_from_json(text, custom_objects=custom)
    model.load_weights(src.extra[0])
    return model


def load_failure(src, exc, version, keras2):
    """The error for a Keras file that passed the check but that Keras failed to rebuild."""
    text = str(exc).strip()
    first = text.splitlines()[0][:300] if text else type(exc).__name__
    fmt = {"keras": ".keras archive", "h5": ".h5 file", "json": ".json architecture and its weights"}[src.kind]
    if "safe_mode" in text or "unsafe_deserialization" in text:
        return RunnerError(
            "unsafe-model",
            "Keras refused to load code from the file: %s" % first,
            file=src.path,
            hint="nothing was executed; --trust-model runs its code (only for a file you trust)",
        )
    if "Unknown layer" in text or "Could not locate" in text or "Unknown activation" in text:
        return RunnerError(
            "unsupported-op",
            "the model uses a class Keras does not define, and its code is not in the file: %s" % first,
            file=src.path,
            hint="load the model where its code is importable and save it with Keras layers only",
        )
    if isinstance(exc, (OSError, KeyError, EOFError, zipfile.BadZipFile)):
        return corrupt(src.path, exc, "Keras %s" % fmt)
    if keras2:
        which = "tf_keras %s" % _version("tf_keras")
    elif src.kind == "h5":
        which = "Keras %s's reader of the legacy .h5 format (a Keras 3 limitation)" % _version("keras")
    else:
        which = "Keras %s" % _version("keras")
    return RunnerError(
        "unsupported-format",
        "%s cannot rebuild this model from its %s, written by Keras %s: %s" % (which, fmt, version, first),
        file=src.path,
        hint="the file itself reads fine; save the model as .keras"
        + (" (or as a Keras 2 .h5 with tf_keras)" if not keras2 and src.kind == "h5" else "")
        + " and convert that",
    )


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except (ImportError, AttributeError):
        return "?"

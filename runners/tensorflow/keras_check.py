"""Every object in a Keras model config, checked before Keras (3 or tf_keras) rebuilds it.

A config is a tree: layers hold layers (Functional and Sequential models inside models, wrappers'
`layer` and `backward_layer`, RNN cells) and objects in any key (activations, initializers,
regularizers, constraints, dtype policies), each `{"class_name", "config", "module",
"registered_name"}`. Rebuilding runs code from the file for a Lambda (Python bytecode), a
`__lambda__` value, and a class or function Keras does not define (its module is imported, its
code run); a tf_keras TFOpLambda calls the TensorFlow function its config names. This module
walks the whole tree, not just `config.layers`, and lists every such object by its path
(`model/time_distributed/evil`). Keras's own serializer checks Lambdas only where it is asked to
(Keras 3's `safe_mode`; tf_keras's legacy .h5 loader runs them), so the walk is done here.

Layers Keras itself defines outside `keras.layers` (keras.applications' CustomScaleLayer,
StochasticDepth, LayerScale) are Keras's code, not the file's: they are known, and handed to
the loader as custom objects, since Keras does not find them by name when reloading an .h5.
"""

import importlib
import pkgutil

# configs that carry Python bytecode or a pickle (Keras 3's TorchModuleWrapper holds torch.save
# bytes); any config whose `<key>_type` is "lambda" holds bytecode in `<key>` (tf_keras's Lambda
# and RNN cell wrappers)
CODE_CLASSES = ("Lambda", "__lambda__", "TorchModuleWrapper")
CONTAINERS = ("Functional", "Sequential", "Model")
# serialization markers of plain values, not classes (Keras 3 serialization_lib)
VALUE_CLASSES = ("__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__keras_tensor__")
# keys under which an object's `name` is a layer name (the path shows it); elsewhere the key
LAYER_KEYS = ("", "layers", "layer", "backward_layer", "forward_layer", "cell", "cells")
# keys Keras does not rebuild when loading with compile=False
SKIPPED_KEYS = ("compile_config",)
# TensorFlow namespaces a TFOpLambda may call into (pure tensor functions)
TF_PURE_NAMESPACES = ("math", "nn", "__operators__", "image", "linalg", "signal", "bitwise", "dtypes", "random")
# top-level TensorFlow functions with effects beyond their outputs
TF_EFFECTS = (
    "print",
    "Print",
    "py_function",
    "numpy_function",
    "py_func",
    "load_op_library",
    "load_library",
    "write_file",
    "read_file",
    "Assert",
)
KERAS_MODULE_PREFIXES = ("keras.", "tf_keras.")
# TensorFlow's own initializers, which tf_keras models may hold (EfficientNetV2's
# tf.constant_initializer): the module is TensorFlow's, the class one of its initializers
TF_INITIALIZER_MODULES = ("tensorflow.python.ops.init_ops_v2", "tensorflow.python.ops.init_ops")


class Known(object):
    """What one Keras flavour defines: class names, function names, extra layer classes."""

    def __init__(self, flavour):
        self.flavour = flavour
        mod = importlib.import_module(flavour)  # 'keras' or 'tf_keras'
        self.registry = mod.saving.get_registered_object if hasattr(mod, "saving") else None
        self.classes = set(CONTAINERS)
        for ns in ("layers", "initializers", "regularizers", "constraints", "optimizers", "losses", "metrics"):
            self.classes |= _public_classes(getattr(mod, ns, None))
        self.classes |= _public_classes(getattr(mod, "dtype_policies", None))
        self.functions = set()
        for ns in ("activations", "losses", "metrics"):
            self.functions |= _public_names(getattr(mod, ns, None))
        self.extra = applications_layers(flavour)
        self.classes |= set(self.extra)
        self.resolved = {}
        self.tf_initializers = set()
        if flavour == "tf_keras":
            self.classes |= {"TFOpLambda", "SlicingOpLambda"}
            for name in TF_INITIALIZER_MODULES:
                module = importlib.import_module(name)
                self.tf_initializers |= {
                    n for n in _public_classes(module) if issubclass(getattr(module, n), module.Initializer)
                }

    def in_keras_module(self, module, name):
        """Keras 3 resolves a class by importing its `module` when that is one of Keras's own:
        the class must be a KerasSaveable defined there."""
        if self.flavour != "keras" or not str(module).startswith("keras."):
            return False
        key = (module, name)
        if key not in self.resolved:
            try:
                from keras.src.saving.keras_saveable import KerasSaveable

                obj = vars(importlib.import_module(module)).get(name)
                self.resolved[key] = isinstance(obj, type) and issubclass(obj, KerasSaveable)
            except Exception:  # not a module of this Keras
                self.resolved[key] = False
        return self.resolved[key]

    def is_keras_registered(self, name):
        if not name or self.registry is None:
            return False
        try:
            obj = self.registry(name)
        except Exception:
            return False
        return obj is not None and str(getattr(obj, "__module__", "")).startswith(self.flavour + ".")


def _public_names(module):
    return {n for n in dir(module) if not n.startswith("_")} if module is not None else set()


def _public_classes(module):
    return {n for n in _public_names(module) if isinstance(getattr(module, n, None), type)}


def applications_layers(flavour):
    """{class name: class} of the layers Keras defines in its applications modules."""
    base = importlib.import_module("%s.src.applications" % flavour)
    layer = importlib.import_module(flavour).layers.Layer
    found = {}
    for info in pkgutil.iter_modules(base.__path__):
        if info.name.endswith("_test"):
            continue
        try:
            module = importlib.import_module("%s.%s" % (base.__name__, info.name))
        except Exception:  # an application needing what this environment lacks
            continue
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, layer) and obj.__module__ == module.__name__:
                found[name] = obj
    return found


_KNOWN = {}


def known(flavour):
    if flavour not in _KNOWN:
        _KNOWN[flavour] = Known(flavour)
    return _KNOWN[flavour]


def objects(config, path=(), key=""):
    """(path, object dict) for every object in the tree, depth first."""
    if isinstance(config, list):
        for item in config:
            yield from objects(item, path, key)
        return
    if not isinstance(config, dict):
        return
    if "class_name" in config:
        inner = config.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        label = str(name) if key in LAYER_KEYS and name else (key or str(config.get("class_name")))
        path = path + (label,)
        yield "/".join(path), config
    for k, v in config.items():
        if k not in SKIPPED_KEYS and k not in ("class_name", "module", "registered_name"):
            yield from objects(v, path, k if isinstance(v, (dict, list)) and k != "config" else key)


def tf_function_ok(name):
    """A TFOpLambda's function, e.g. 'math.add': a pure tensor function of TensorFlow."""
    parts = str(name).split(".")
    while parts[:1] == ["compat"] and len(parts) > 2:
        parts = parts[2:]  # compat.v1.x, compat.v2.x
    if not parts or not all(p.replace("_", "a").isalnum() for p in parts):
        return False
    if len(parts) == 1:
        return parts[0] not in TF_EFFECTS
    return parts[0] in TF_PURE_NAMESPACES


def _module_ok(module):
    return module in ("keras", "tf_keras", "builtins") or str(module).startswith(KERAS_MODULE_PREFIXES)


def problem(obj, kinds):
    """Why rebuilding `obj` runs code from the file (or imports code from outside Keras), or None."""
    cls = str(obj.get("class_name", ""))
    module = obj.get("module")
    registered = obj.get("registered_name")
    inner = obj.get("config")
    if cls in CODE_CLASSES:
        return "%s: Python code" % cls
    if isinstance(inner, dict):
        code = sorted(k[: -len("_type")] for k, v in inner.items() if k.endswith("_type") and v == "lambda")
        if code:
            return "%s: Python code in %s" % (cls, ", ".join(code))
    if cls in VALUE_CLASSES:
        return None
    if module in TF_INITIALIZER_MODULES and cls in kinds.tf_initializers:
        return None
    if module and not _module_ok(module):
        return "%s from module %s" % (cls if cls != "function" else inner, module)
    if registered and registered not in (cls, inner) and ">" in str(registered):
        if not str(registered).startswith(("keras", "tf_keras")) and not kinds.is_keras_registered(registered):
            return "%s registered as %s, outside Keras" % (cls, registered)
    if cls == "function":
        if isinstance(inner, str) and inner in kinds.functions:
            return None
        return "function %s, which Keras does not define" % inner
    if cls in ("TFOpLambda", "SlicingOpLambda") and kinds.flavour == "tf_keras":
        fn = inner.get("function") if isinstance(inner, dict) else None
        if not tf_function_ok(fn):
            return "%s calling tf.%s, which is not a pure tensor function" % (cls, fn)
        return None
    if cls in kinds.classes or kinds.is_keras_registered(registered or cls) or kinds.in_keras_module(module, cls):
        return None
    return "custom class %s, which Keras does not define" % cls


def unsafe_objects(config, flavour):
    """['path (what)', ...] for every object whose rebuilding would run code from the file."""
    kinds = known(flavour)
    bad = []
    for path, obj in objects(config):
        if any(path.startswith(outer + "/") for outer, _ in bad):
            continue  # inside an object already refused (a Lambda's function)
        why = problem(obj, kinds)
        if why:
            bad.append((path, why))
    return bad


def extra_layers(config, flavour):
    """The Keras-defined application layers a config uses, as custom objects for the loader."""
    extra = known(flavour).extra
    used = {str(obj.get("class_name")) for _, obj in objects(config)}
    return {name: cls for name, cls in extra.items() if name in used}

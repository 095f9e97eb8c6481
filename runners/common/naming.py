"""Layer names for generated code, taken from the source model: every emitter names a layer the
same way, so the code a person reads and retrains keeps the source's module paths.

Where a name comes from, first found wins:
1. the source module the node was exported from, as the exporter recorded it in the node's
   metadata: torch.onnx writes `pkg.torch.onnx.name_scopes` (the module path from the root, then
   the FX node: `['', 'layers.0', 'layers.0.attention', 'layers.0.attention.q_proj', 'linear']`)
   and `namespace` (`: ViTModel/layers.0: ViTLayer/...`). A node of a leaf module (one no other node
   lies under, such as a Linear) takes the module's path; a node computed in a module that holds
   others (a residual Add in `layers.0`) takes the path and its own op (`layers.0.add`);
2. the node's own name, unless it is one an exporter made up (`node_Conv_12`, `Conv__3`, `n7`);
3. the name of the node's weight without its role suffix (`conv1.weight` -> `conv1`; a Caffe2
   export's `gpu_0/conv3_0_w_0` -> `conv3_0`);
4. None: the emitter falls back to the op's snake-case name (`max_pool`, `op_name`).

A weight's name comes after the node's metadata because exporters share equal initializers between
layers (torch.onnx gives every zero bias the name of the first one, so a key projection's bias is
called `q_proj.bias`): a name read from a weight can be a neighbour's.

Runs on every interpreter a runner uses (CPython 3.6 for CNTK): no f-strings, no annotations.
"""

import ast
import re

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
NAMESPACE = "namespace"

# scopes torch.export adds for nodes outside any module (symbolic size reads and their asserts)
_HOOK_SCOPE = re.compile(r"^_empty_nn_module_stack|_hook$")

# node names exporters make up: torch.onnx `node_Conv_12` / `node_add_3`, a bare `node`, tf2onnx `Conv__12`,
# onnx-ir's `n7`, a number; the legacy torch.onnx exporter's scope paths (`/layer1/layer1.0/conv1/Conv`)
# repeat what the weight names say, in a form that reads worse. Also the node's op with a counter
# (`Conv_0`, see `made_up`).
_MADE_UP = re.compile(r"^(node|node_\w+|[A-Za-z]+__\d+|n\d+|\d+|/.*)$")

# role suffixes of weight names: PyTorch, Keras/TensorFlow, MXNet, Caffe2 (`_w_0`, `_b_0`, `_s`...)
_WEIGHT_SUFFIX = re.compile(
    r"([./_](weight|bias|kernel|gamma|beta|moving_mean|moving_variance|running_mean|running_var|"
    r"w|b|s|scale|rm|riv)(_\d+)?|:\d+)+$"
)
_DEVICE_SCOPE = re.compile(r"^gpu_\d+/")


def unique_name(taken, wanted):
    """`wanted`, or `wanted_2`, `wanted_3`... the first not in the set `taken`, which it joins."""
    name, i = wanted, 1
    while name in taken:
        i += 1
        name = "%s_%d" % (wanted, i)
    taken.add(name)
    return name


def rename_value(nodes, old, new):
    """Value `old` called `new` in every input and output of the ONNX `nodes`."""
    for node in nodes:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new


def _metadata(proto):
    return dict((p.key, p.value) for p in getattr(proto, "metadata_props", ()))


def source_scopes(proto):
    """(module path, FX node name) of a node from exporter metadata, or (None, None)."""
    props = _metadata(proto)
    scopes = props.get(NAME_SCOPES)
    if scopes:
        try:
            names = [str(s) for s in ast.literal_eval(scopes)]
        except (ValueError, SyntaxError):
            names = []
        if names and not any(_HOOK_SCOPE.search(s) for s in names):
            path = [s for s in names[:-1] if s]
            return (path[-1] if path else None), names[-1]
    namespace = props.get(NAMESPACE)
    if namespace and "_hook" not in namespace:
        parts = [p.split(":")[0].strip() for p in namespace.split("/")]
        path = [p for p in parts[:-1] if p]
        return (path[-1] if path else None), (parts[-1] if parts else None)
    return None, None


def weight_stem(name):
    """A layer name from a weight's name: `layer1.0.conv1.weight` -> `layer1.0.conv1`,
    `gpu_0/conv3_0_w_0` -> `conv3_0`."""
    stem = _WEIGHT_SUFFIX.sub("", _DEVICE_SCOPE.sub("", str(name)))
    return stem or str(name)


def op_name(op_type):
    """The snake-case name of an op (`MaxPool` -> `max_pool`, `LSTM` -> `lstm`): what Keras and
    PyTorch users call an unnamed layer, for a node nothing in the source names."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", op_type).lower()


def made_up(name, op_type=""):
    """True for a node name an exporter invented (it says nothing about the source model)."""
    if not name or _MADE_UP.match(name):
        return True
    return bool(op_type) and re.match(r"^%s(_\d+)*$" % re.escape(op_type), name, re.I) is not None


class SourceNames(object):
    """Layer-name hints for the nodes of one graph (see the module docstring)."""

    def __init__(self, nodes):
        self._scopes = {}
        paths = set()
        for n in nodes:
            path, fx = source_scopes(n.proto)
            if path:
                self._scopes[id(n.proto)] = (path, fx)
                paths.add(path)
        # a path with another below it is a container module
        self._containers = set()
        for p in paths:
            parts = p.split(".")
            for k in range(1, len(parts)):
                self._containers.add(".".join(parts[:k]))

    def module_path(self, node):
        """The source module path a node belongs to (`layers.0.attention.q_proj`), or None."""
        entry = self._scopes.get(id(node.proto))
        return entry[0] if entry else None

    def hint(self, node, weight=None):
        """The name for the layer `node` becomes, or None when nothing names it."""
        entry = self._scopes.get(id(node.proto))
        if entry:
            path, fx = entry
            if path in self._containers and fx:
                return "%s.%s" % (path, re.sub(r"(_\d+)+$", "", fx))
            return path
        if not made_up(node.proto.name, node.op_type):
            return node.proto.name
        if weight:
            return weight_stem(weight)
        return None

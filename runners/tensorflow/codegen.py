"""What an IR -> Keras op converter works with: the emit registry and the KerasContext.

The generated model is Keras 3 functional code in NHWC. IR values are NCHW; the context keeps,
for every IR value, the Python variable holding it and that variable's *layout*: the permutation
from the IR (logical) order to the order the Keras tensor is stored in. Spatial layers ask for
channels-last (`ctx.x(name, CL)`), element-wise ops take what they get, shape ops ask for the IR
order; the context inserts a `layers.Permute` only where a layout has to change.

    @EMIT.register("Relu")
    def relu(node, ctx):
        v, layout = ctx.any(node.inputs[0])
        ctx.layer(node, "layers.ReLU()", [v], layout=layout)
"""

import re

import numpy as np

from runners.common.codegen import identifier as _identifier
from runners.common.codegen import lit  # noqa: F401  (re-exported for the ops)
from runners.common.emit import EmitContext
from runners.common.errors import RunnerError
from runners.common.naming import made_up, op_name, unique_name
from runners.common.registry import Registry

EMIT = Registry("tensorflow", "emit", package="runners.tensorflow.emit_ops")


def channels_last(rank):
    """The layout of an NC... tensor stored N...C."""
    return tuple([0] + list(range(2, rank)) + [1])


def identity(rank):
    return tuple(range(rank))


def inverse(perm):
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


def identifier(name, fallback="v"):
    return _identifier(name, fallback, ("keras", "layers", "np", "W", "model", "inputs", "outputs"))


def pair(values):
    values = [int(v) for v in values]
    return str(values[0]) if all(v == values[0] for v in values) else lit(tuple(values))


_OPS_CALL = re.compile(r"keras\.ops\.([a-z_0-9]+)\(")


class KerasContext(EmitContext):
    framework = "tensorflow"

    def __init__(self, model, weights):
        EmitContext.__init__(self, model, weights)
        self.lines = []
        self.weights = {}  # npz key -> array
        self.layer_weights = []  # (layer name, [npz keys])
        self.layer_values = []  # (layer name, IR value it computes, storage layout of that value)
        self._vars = {}  # (ir name, layout) -> var
        self._used = set()
        self._layer_names = set()
        self.prefix = self._common_scope()  # scope most node names start with (a TensorFlow model's name)

    def _common_scope(self):
        scopes = [n.name.split("/")[0] + "/" for n in self.nodes if "/" in n.name]
        if scopes:
            top = max(set(scopes), key=scopes.count)
            if scopes.count(top) * 2 > len(self.nodes):
                return top
        return ""

    def new_var(self, hint):
        return unique_name(self._used, identifier(hint))

    def layouts(self, name):
        return [lay for (n, lay) in self._vars if n == name]

    def bind(self, name, var, layout):
        self._vars[(name, tuple(layout))] = var

    def any(self, name):
        """(variable, layout) of a computed value, preferring channels-last."""
        lays = self.layouts(name)
        if not lays:
            if name in self.consts:
                return self.constant(name), identity(self.consts[name].ndim)
            raise RunnerError("invalid-model", "value '%s' is used before it is computed" % name)
        lays.sort(key=lambda lay: lay == identity(len(lay)))
        return self._vars[(name, lays[0])], lays[0]

    def x(self, name, layout=None):
        """The variable holding `name` stored in `layout` (default: the IR order)."""
        rank = self.rank(name)
        if layout is None:
            layout = identity(rank if rank is not None else len(self.any(name)[1]))
        layout = tuple(layout)
        if (name, layout) in self._vars:
            return self._vars[(name, layout)]
        var, have = self.any(name)
        if name in self.consts and (name, have) not in self._vars:
            return self.constant(name, layout)
        # stored = transpose(logical, have); wanted = transpose(logical, layout)
        perm = tuple(inverse(have)[i] for i in layout)
        out = self.new_var("%s_%s" % (var, "nhwc" if len(layout) > 2 and layout == channels_last(len(layout)) else "t"))
        if perm[0] == 0:
            expr = "layers.Permute(%s, name=%r)(%s)" % (lit(tuple(p for p in perm[1:])), self.layer_name(out), var)
        else:
            expr = "keras.ops.transpose(%s, %s)" % (var, lit(perm))
        self.lines.append("%s = %s" % (out, expr))
        self.bind(name, out, layout)
        return out

    def constant(self, name, layout=None):
        """A constant as `W["key"]` (stored in the weights file), permuted to `layout`."""
        arr = np.asarray(self.consts[name])
        if layout is not None and tuple(layout) != identity(arr.ndim):
            arr = np.transpose(arr, layout)
        if arr.size == 1 and arr.ndim == 0:
            return lit(arr.item())
        key = "const/%s" % identifier(name, "c") + ("" if layout is None else "/" + "".join(map(str, layout)))
        self.weights[key] = np.ascontiguousarray(arr)
        return "W[%r]" % key

    def broadcast_const(self, name, rank, layout):
        """A constant broadcast against a rank-`rank` tensor stored in `layout`."""
        arr = np.asarray(self.consts[name])
        if arr.ndim < rank:
            arr = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
        if arr.size == 1:
            return lit(arr.reshape(()).item())
        arr = np.transpose(arr, layout)
        key = "const/%s/%s" % (identifier(name, "c"), "".join(map(str, layout)))
        self.weights[key] = np.ascontiguousarray(arr)
        return "W[%r]" % key

    # ---- code -----------------------------------------------------------------------------
    def avoid_op_names(self):
        """Rename the layers named as Keras names a keras.ops call's operation. Keras names each
        after its function (`reshape`, `reshape_1`, ..., counting across the process) and refuses a
        model in which two operations share a name, so a Reshape layer `reshape` (Keras's own name
        for it, given to layers the source did not name) beside a keras.ops.reshape call fails to
        build, or not, depending on what the process built before. Such a layer becomes
        `<name>_layer`."""
        used = {fn for line in self.lines for fn in _OPS_CALL.findall(line)}
        if not used:
            return
        clash = re.compile(r"^(%s)(_\d+)?$" % "|".join(sorted(re.escape(fn) for fn in used)))
        renames = {}
        for name in sorted(self._layer_names):
            if clash.match(name):
                renames[name] = unique_name(self._layer_names, name + "_layer")
        if not renames:
            return
        for old, new in renames.items():
            self.lines = [line.replace("name=%r)" % old, "name=%r)" % new) for line in self.lines]
        keys = {}
        for name, old_keys in self.layer_weights:
            for key in old_keys:
                keys[key] = "%s/%s" % (renames.get(name, name), key.rsplit("/", 1)[1])
        self.weights = {keys.get(k, k): v for k, v in self.weights.items()}
        self.layer_weights = [(renames.get(n, n), [keys[k] for k in ks]) for n, ks in self.layer_weights]
        self.layer_values = [(renames.get(n, n), v, lay) for n, v, lay in self.layer_values]

    def layer_name(self, hint):
        return unique_name(self._layer_names, identifier(hint, "layer"))

    def store_const(self, name, value):
        """Store `value` beside the code under "const/<name>", made unique (names from the source can
        repeat: two LRN layers both called `lrn`), and return the key."""
        key, k = "const/%s" % name, 1
        while key in self.weights:
            k += 1
            key = "const/%s_%d" % (name, k)
        self.weights[key] = value
        return key

    def weight_hint(self, node):
        """A layer name from the source model (runners/common/naming.py: the module the node was
        exported from, the node's own name, the name of its weight), without the model-name scope
        TensorFlow puts in front."""
        w = node.input(1)
        weight = w if w in self.consts and self.consts[w].dtype.kind == "f" else None  # not a shape or axes
        name = self.layer_hint(node, weight)
        if name is None:  # nothing in the source names it: Keras's own default, the op's snake-case name
            name = op_name(node.op_type) if made_up(node.name, node.op_type) else node.name
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix) :]
        return name.split("/")[0].split(":")[0] or node.op_type.lower()

    def _call(self, ctor, name, args, params):
        """`layers.X(..., name=name)(args)`, with `params` stored as the layer's weights."""
        head = ctor[:-1]
        ctor = head + ("" if head.endswith("(") else ", ") + "name=%r)" % name
        if params:
            keys = []
            for i, arr in enumerate(params):
                key = "%s/%d" % (name, i)
                self.weights[key] = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
                keys.append(key)
            self.layer_weights.append((name, keys))
        return "%s(%s)" % (ctor, args[0] if len(args) == 1 else "[%s]" % ", ".join(args))

    def layer(self, node, ctor, args, layout, params=None, hint=None, outputs=None):
        """`out = layers.X(..., name=...)(args)`; params: arrays set as the layer's weights."""
        name = self.layer_name(hint or self.weight_hint(node))
        self.assign(node, self._call(ctor, name, args, params), layout, outputs=outputs, prefer=name)
        produced = list(node.outputs if outputs is None else outputs)
        if len(produced) == 1 and produced[0]:
            self.layer_values.append((name, produced[0], tuple(int(i) for i in layout)))
        return name

    def layer_var(self, ctor, args, hint, params=None):
        """A layer computing a step of the current node (no IR value of its own); returns its variable."""
        name = self.layer_name(hint)
        var = self.new_var(name)
        self.lines.append("%s = %s" % (var, self._call(ctor, name, args, params)))
        return var

    def temp(self, expr, hint):
        """`var = expr` for a step of the current node; returns the variable."""
        var = self.new_var(hint)
        self.lines.append("%s = %s" % (var, expr))
        return var

    def assign(self, node, expr, layout, outputs=None, prefer=None):
        outputs = list(node.outputs if outputs is None else outputs)
        names = []
        for o in outputs:
            var = self.new_var(prefer if prefer and len(outputs) == 1 else o)
            self.bind(o, var, layout)
            names.append(var)
        self.lines.append("%s = %s" % (", ".join(names), expr))

    def alias(self, node, src, layout):
        """The node's output is the variable `src` (no code)."""
        self.bind(node.outputs[0], src, layout)

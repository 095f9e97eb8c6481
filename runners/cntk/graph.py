"""A CNTK Function as a flat list of primitive functions: blocks (layers) are opened, their
placeholders bound to the block's arguments, so every node is one CNTK primitive op.

Value names: inputs by their name, parameters and constants by a readable unique name, outputs of
top-level functions as `loading.output_names` says (Infer reports intermediates under the same
names), outputs inside blocks by uid (a block's result takes the block's name)."""

import sys

import numpy as np

from runners.common.naming import unique_name

from . import loading

# Blocks converted whole (not opened) when their op name has a parse converter.
BLOCKS = set(["LeakyReLU", "Softmax", "LSTM", "GRU", "Sequence::Slice"])
# Recurrent cells (C.layers.LSTM/GRU): their state inputs are PastValue/FutureValue of their own
# outputs, a loop the IR holds as one recurrent op
RECURRENT = set(["LSTM", "GRU"])


class Primitive(object):
    """One primitive CNTK function with IR value names for its inputs and outputs."""

    def __init__(self, fn, inputs, outputs, name):
        self.fn = fn
        self.op = fn.op_name
        self.attrs = dict(fn.attributes)
        self.inputs = inputs  # IR value names
        self.input_vars = list(fn.inputs)
        self.outputs = outputs
        self.name = name  # for messages: the layer's name when it has one, else the uid
        self.states = []  # per input of a recurrent cell: (op, offset, initial value) of a state, else None


class FlatGraph(object):
    def __init__(self, model):
        self.model = model
        self.nodes = []
        self.inputs = []  # (IR name, CNTK variable)
        self.params = {}  # IR name -> ndarray
        self.shapes = {}  # IR name -> static shape (no batch axis)
        self.batched = set()  # IR names carrying the batch axis
        self.sequenced = set()  # IR names carrying a sequence axis (after the batch axis)
        self._var_names = {}  # uid -> IR name, for inputs, parameters and constants
        self._taken = set()
        self._done = {}  # (fn uid, context) -> [output IR names]
        self._values = dict((v.uid, v) for v in list(model.parameters) + list(model.constants))
        functions = loading.top_functions(model)
        self._top_names = loading.output_names(functions)
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            for a in model.arguments:
                self.value(a, {}, "")
            self.outputs = [self.value(o, {}, "") for o in model.outputs]
        finally:
            sys.setrecursionlimit(old)

    def _unique(self, wanted):
        return unique_name(self._taken, wanted)

    def value(self, var, subst, context, scope=""):
        """The IR name of `var` (walking into its producer first); `scope` is the name of the
        layer (block) being opened, which prefixes the names of what it holds."""
        if var.is_placeholder:
            return subst[var.uid]
        if var.is_output:
            return self._function(var.owner, subst, context, scope)[list(var.owner.outputs).index(var)]
        if var.uid in self._var_names:
            return self._var_names[var.uid]
        if var.is_input:
            name = self._unique(loading.argument_name(var))
            self.inputs.append((name, var))
            self.batched.add(name)
            if len(var.dynamic_axes) > 1:
                self.sequenced.add(name)
        else:  # parameter or constant
            name = self._unique("%s.%s" % (scope, var.name or var.uid) if scope else var.name or var.uid)
            self.params[name] = np.asarray(self._values[var.uid].value, dtype=np.float32)
        self._var_names[var.uid] = name
        self.shapes[name] = tuple(var.shape)
        return name

    def _function(self, fn, subst, context, scope, names=None):
        key = (fn.uid, context)
        if key in self._done:
            return self._done[key]
        if names is None:
            if context:
                names = [self._unique("%s/%s" % (scope, o.uid) if scope else o.uid) for o in fn.outputs]
            else:
                names = [self._unique(self._top_names.get(o.uid, o.uid)) for o in fn.outputs]
        if fn.is_block and fn.op_name not in BLOCKS:
            inner = dict((p.uid, self.value(a, subst, context, scope)) for p, a in fn.block_arguments_mapping)
            root = fn.block_root
            # the block's result is computed by its root: give the root's outputs the block's names
            root_fn = root.root_function if hasattr(root, "root_function") else root
            sub_context = "%s@%s" % (context, fn.uid)
            outs = self._function(root_fn, inner, sub_context, fn.name or scope, names=names)
        else:
            # a block converted whole takes its arguments (its constants come first in its inputs)
            states = {}
            if fn.op_name in RECURRENT:  # a cell's own previous outputs: named "", their step kept
                states = _state_inputs(fn)
            inputs = ["" if i.uid in states else self.value(i, subst, context, scope) for i in fn.inputs]
            for n, o in zip(names, fn.outputs):
                self.shapes[n] = tuple(o.shape)
                if o.dynamic_axes:
                    self.batched.add(n)
                if len(o.dynamic_axes) > 1:
                    self.sequenced.add(n)
            prim = Primitive(fn, inputs, names, names[0] if context else fn.name or fn.uid)
            prim.states = [states.get(i.uid) for i in fn.inputs]
            self.nodes.append(prim)
            outs = names
        self._done[key] = outs
        return outs


def _state_inputs(fn):
    """{input uid: (op, offset, initial value)} for the inputs of recurrent block `fn` that are a
    PastValue/FutureValue of one of its own outputs."""
    own = set(o.uid for o in fn.outputs)
    out = {}
    for i in fn.inputs:
        if not i.is_output or i.owner.op_name not in ("PastValue", "FutureValue"):
            continue
        step = i.owner
        if step.inputs[0].uid not in own:
            continue
        initial = step.inputs[1]
        value = None
        if initial.is_constant:
            value = np.asarray(initial.as_constant().value)
        elif initial.is_parameter:
            value = np.asarray(initial.as_parameter().value)
        out[i.uid] = (step.op_name, int(step.attributes.get("offset", 1)), value)
    return out


def flatten(model):
    return FlatGraph(model)

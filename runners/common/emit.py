"""The one emit skeleton every emitter builds on: a context that knows the IR values (constants,
shapes, dtypes, who reads what) and names the node in every error, and the loop that checks the
whole graph before converting it node by node.

The graph an emitter receives is canonical (see broker/ir/canonical.py: constants folded into
initializers, inference-only parts removed) and legalized for this emitter (broker/ir/legalize/),
so an emitter never folds or simplifies on its own: every node it meets is one to convert.

    ctx = MyContext(model, weights)               # a subclass of EmitContext
    emit_nodes(registry, ctx)                     # check every node, then convert each

The loop:
1. every op without a converter is refused at once, every node named (UnsupportedOps);
2. every attribute a converter does not take (its keyword parameters, ONNX defaults in its
   signature) is refused at once, every node named: an attribute nobody handles is never ignored;
3. each node is converted; a converter that refuses a form of its op (`raise ctx.fail(...)`)
   does not stop the others: every refusal is collected, the nodes that read a refused value are
   skipped, and one error lists them all;
4. an exception that is not a refusal is a bug in the converter: `internal-bug`, naming the node
   and op, never "not supported".

Runs on every interpreter a runner uses (CPython 3.6 for CNTK): no f-strings, no annotations.
"""

import inspect

import numpy as np

from . import ir
from .emit_graph import IRNode, attributes, infer_shapes, topological
from .errors import InternalBug, RunnerError, UnsupportedOps
from .naming import SourceNames

# References a converter raises when it cannot express a form of its op: collected, not fatal.
REFUSALS = frozenset(["unsupported-attribute", "unsupported-op", "missing-input-shape"])


class EmitContext(object):
    """What every emitter's converters see of the graph. Subclasses add the code they generate."""

    framework = "?"
    # numpy dtype names the framework cannot compute with: a node reading or writing such a value
    # is refused (e.g. torch has no arithmetic on uint16/uint32/uint64)
    unsupported_dtypes = ()

    def __init__(self, model, weights, shapes=None, dtypes=None):
        self.model = model
        self.opset = ir.opset_of(model)
        if shapes is None or dtypes is None:
            inferred_shapes, inferred_dtypes = infer_shapes(model, weights)
            shapes = inferred_shapes if shapes is None else shapes
            dtypes = inferred_dtypes if dtypes is None else dtypes
        self.shapes = shapes  # IR value -> [dims or None]
        self.dtypes = dtypes  # IR value -> numpy dtype
        self.consts = {}  # IR value -> ndarray: the initializers
        self.node = None  # the node being converted
        self.consumers = {}  # IR value -> [IRNode] reading it
        self.graph_outputs = set(o.name for o in model.graph.output)
        self.absorbed = set()  # ids of nodes an earlier converter emitted as part of its own
        self.warnings = []
        g = model.graph
        for init in g.initializer:
            if init.name not in weights:
                raise RunnerError("weights-mismatch", "the IR weights have no tensor '%s'" % init.name)
            self.consts[init.name] = np.asarray(weights[init.name])
        self.inputs = ir.graph_inputs(model)
        self.nodes = topological(
            [IRNode(n, i) for i, n in enumerate(g.node)], [i.name for i in self.inputs] + list(self.consts)
        )
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.names = SourceNames(self.nodes)

    # ---- values -------------------------------------------------------------------------
    def const(self, name):
        """The value of an initializer, or None for a computed value."""
        return self.consts.get(name) if name else None

    def shape(self, name):
        """[dims] of an IR value (None for an unknown dim), or None when even the rank is unknown."""
        if name in self.consts:
            return list(self.consts[name].shape)
        s = self.shapes.get(name)
        return None if s is None else list(s)

    def static_shape(self, name):
        """[dims] when every dim is known and positive, else None."""
        s = self.shape(name)
        if s is None or any(d is None or d <= 0 for d in s):
            return None
        return [int(d) for d in s]

    def rank(self, name):
        s = self.shape(name)
        return None if s is None else len(s)

    def dtype(self, name):
        if name in self.consts:
            return self.consts[name].dtype
        return self.dtypes.get(name)

    def sole_consumer(self, name):
        """The one node reading `name` when no other node or graph output does, else None."""
        users = self.consumers.get(name, [])
        if len(users) == 1 and name not in self.graph_outputs:
            return users[0]
        return None

    def absorb(self, node):
        """`node` is emitted as part of the current one: the loop passes over it."""
        self.absorbed.add(id(node))

    def check_inputs_read(self, read):
        """Refuse graph inputs that the emitted model does not read (`read`: the values it reads) and
        that are no output: they set a parameter at run time (a shape, axes, a ratio) that the model
        takes as a fixed value, and a model cannot take an input it does not use."""
        unread = [i.name for i in self.inputs if i.name not in read and i.name not in self.graph_outputs]
        if unread:
            raise RunnerError(
                "unsupported-attribute",
                "input(s) %s set a parameter at run time (a shape, axes, a ratio); %s layers take those as "
                "fixed values" % (", ".join(unread), self.framework),
                framework=self.framework,
                hint="make them constants (initializers) in the source model, or convert to another target",
            )

    def layer_hint(self, node, weight=None):
        """The source model's name for the layer `node` becomes (runners/common/naming.py): its module
        path, its own name, or its weight's name (`weight`: an initializer it reads); None when nothing
        names it."""
        return self.names.hint(node, weight)

    # ---- refusals -----------------------------------------------------------------------
    def fail(self, message, reference="unsupported-attribute", hint=None, node=None):
        """The error to raise when this emitter cannot express the current node's form."""
        node = node or self.node
        return RunnerError(
            reference,
            message,
            node=node.name if node else "",
            op=node.op_type if node else "",
            opset=self.opset,
            framework=self.framework,
            hint=hint or "convert to another target framework, or replace this op in the source model",
        )

    def need_const(self, node, i, what):
        """The value of the node's input `i`, which this emitter needs to be a constant."""
        name = node.input(i)
        c = self.const(name) if name else None
        if c is None:
            raise self.fail("%s (input %d, '%s') must be a constant for %s" % (what, i, name, self.framework))
        return c

    def need_shape(self, name):
        s = self.static_shape(name)
        if s is None:
            raise self.fail(
                "the shape of '%s' is unknown or dynamic; give static input shapes (--inputShape)" % name,
                reference="missing-input-shape",
            )
        return s

    def need_rank(self, name):
        r = self.rank(name)
        if r is None:
            raise self.fail(
                "the rank of '%s' is unknown; give the input shapes (--inputShape)" % name,
                reference="missing-input-shape",
            )
        return r


def accepted_attributes(fn):
    """The attribute names a converter takes (its keyword parameters), or None for **kwargs."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    names = set()
    for i, (name, p) in enumerate(params.items()):
        if p.kind == p.VAR_KEYWORD:
            return None
        if i >= 2 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(name)
    return names


def _attribute_refusals(registry, nodes, opset, framework):
    out = []
    for n in nodes:
        fn = registry.lookup(n.op_type, opset)
        accepted = accepted_attributes(fn)
        if accepted is None:
            continue
        extra = sorted(set(a.name for a in n.proto.attribute) - accepted)
        if extra:
            out.append(
                RunnerError(
                    "unsupported-attribute",
                    "the %s converter of %s does not handle attribute%s %s"
                    % (framework, n.op_type, "s" if len(extra) > 1 else "", ", ".join(extra)),
                    node=n.name,
                    op=n.op_type,
                    opset=opset,
                    framework=framework,
                    hint="convert to another target framework, or replace this op in the source model",
                )
            )
    return out


def _dtype_refusals(ctx, nodes, opset, framework):
    bad = set(ctx.unsupported_dtypes)
    out = []
    if not bad:
        return out
    for n in nodes:
        values = [v for v in list(n.inputs) + list(n.outputs) if v]
        found = sorted(set("%s (%s)" % (v, np.dtype(ctx.dtype(v)).name) for v in values
                           if ctx.dtype(v) is not None and np.dtype(ctx.dtype(v)).name in bad))  # fmt: skip
        if found:
            out.append(
                RunnerError(
                    "unsupported-attribute",
                    "%s cannot compute with %s" % (framework, ", ".join(found)),
                    node=n.name,
                    op=n.op_type,
                    opset=opset,
                    framework=framework,
                    hint="cast the model to a supported type (e.g. int32/int64, float32), or convert to another target",
                )
            )
    return out


def refusal_of(errors):
    """One RunnerError for several refusals: the first one's, every node listed."""
    if len(errors) == 1:
        return errors[0]
    first = errors[0]
    names = ["%s (%s): %s" % (e.node, e.op, e.message) for e in errors]
    return RunnerError(
        first.reference,
        "%s cannot express %d nodes: %s" % (first.framework or "this emitter", len(errors), "; ".join(names[:10]))
        + (" and %d more" % (len(names) - 10) if len(names) > 10 else ""),
        node=first.node,
        op=first.op,
        opset=first.opset,
        hint=first.hint,
        nodes=names,
        framework=first.framework,
    )


def emit_nodes(registry, ctx, skip=None):
    """Check every node of `ctx.nodes` against `registry`, then convert each with
    `fn(node, ctx, **attributes)`. `skip(node)` may pass over nodes (e.g. a graph input's
    placeholder handled elsewhere)."""
    nodes = [n for n in ctx.nodes if not (skip and skip(n))]
    opset = ctx.opset
    framework = registry.framework
    missing = [(n.name, n.op_type) for n in nodes if registry.lookup(n.op_type, opset) is None]
    if missing:
        raise UnsupportedOps("emit", framework, missing, opset)
    refused = _attribute_refusals(registry, nodes, opset, framework) + _dtype_refusals(ctx, nodes, opset, framework)
    poisoned = set()
    for e in refused:
        for n in nodes:
            if n.name == e.node:
                poisoned.update(o for o in n.outputs if o)
    for n in nodes:
        if id(n) in ctx.absorbed:
            continue
        if any(i in poisoned for i in n.inputs if i) or any(o in poisoned for o in n.outputs if o):
            poisoned.update(o for o in n.outputs if o)
            continue
        ctx.node = n
        fn = registry.lookup(n.op_type, opset)
        try:
            fn(n, ctx, **attributes(n))
        except RunnerError as err:
            if not err.node:
                err.node, err.op, err.opset = n.name, n.op_type, opset
            if not err.framework:
                err.framework = framework
            if err.reference not in REFUSALS:
                raise
            refused.append(err)
            poisoned.update(o for o in n.outputs if o)
        except Exception as exc:  # a bug in the converter: named with its node (the server logs the traceback)
            raise InternalBug(exc, framework, node=n.name, op=n.op_type, opset=opset)
    ctx.node = None
    if refused:
        raise refusal_of(refused)

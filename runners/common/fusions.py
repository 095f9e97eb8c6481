"""Common decompositions an exporter writes for one framework op, found again so an emitter can
write the framework's own call (readable code, one op in the saved model, e.g. TFLite's GELU).

The canonical IR keeps opset 18, which has no Gelu, so torch.onnx writes GELU as arithmetic:

    exact:  x * 0.5 * (1 + Erf(x / sqrt(2)))                       (Div by sqrt 2 or Mul by 1/sqrt 2)
    tanh:   x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (x^3 as Pow(x, 3))

in any order of the three factors. `fuse_gelu(ctx)` replaces each such group of nodes in
`ctx.nodes` by one node `Gelu(x)` (ONNX's op of opset 20, attribute `approximate` "none" or
"tanh"), named after the group's last node, when no value inside the group is read elsewhere or is
a graph output. An emitter that calls it registers a converter for Gelu.

Runs on every interpreter a runner uses (CPython 3.6 for CNTK): no f-strings, no annotations.
"""

import math

from .emit_graph import IRNode

_SQRT2 = math.sqrt(2.0)
_TANH_SCALE = math.sqrt(2.0 / math.pi)


def _scalar(ctx, name):
    """The value of a constant holding one number (any shape of size 1), else None."""
    c = ctx.const(name)
    if c is None or c.size != 1 or c.dtype.kind != "f":
        return None
    return float(c.reshape(-1)[0])


def _close(value, want):
    return value is not None and abs(value - want) <= 1e-4 * abs(want)


class _Match(object):
    """The nodes of one candidate group, found by walking back from its last node."""

    def __init__(self, ctx, producers):
        self.ctx = ctx
        self.producers = producers
        self.nodes = []

    def producer(self, name, op):
        """The node writing `name` when it is an `op` read only inside the group (checked later)."""
        node = self.producers.get(name)
        if node is None or node.op_type != op or name in self.ctx.graph_outputs:
            return None
        self.nodes.append(node)
        return node

    def split(self, node):
        """(tensor input, scalar constant) of a binary node with one of each, else (None, None)."""
        a, b = node.inputs[0], node.input(1)
        if not b:
            return None, None
        if _scalar(self.ctx, b) is not None and self.ctx.const(a) is None:
            return a, _scalar(self.ctx, b)
        if _scalar(self.ctx, a) is not None and self.ctx.const(b) is None:
            return b, _scalar(self.ctx, a)
        return None, None

    def factors(self, name, top):
        """The factors of a product of Mul nodes ending in `name` (inner products read by one node
        only): (tensors, product of the scalar constants)."""
        node = self.producers.get(name)
        sole = top or (len(self.ctx.consumers.get(name, [])) == 1 and name not in self.ctx.graph_outputs)
        if node is None or node.op_type != "Mul" or not node.input(1) or not sole:
            return [name], 1.0
        if any(self.ctx.const(i) is not None and _scalar(self.ctx, i) is None for i in node.inputs):
            return [name], 1.0
        self.nodes.append(node)
        tensors, scale = [], 1.0
        for i in node.inputs[:2]:
            value = _scalar(self.ctx, i)
            if value is not None:
                scale *= value
            else:
                inner, s = self.factors(i, False)
                tensors += inner
                scale *= s
        return tensors, scale

    def one_plus(self, name):
        """t when `name` is 1 + t (an Add with the constant 1), else None."""
        add = self.producer(name, "Add")
        if add is None:
            return None
        t, one = self.split(add)
        return t if _close(one, 1.0) else None

    def erf_argument(self, name):
        """x when `name` is Erf(x / sqrt 2) (or Erf(x * (1 / sqrt 2))), else None."""
        erf = self.producer(name, "Erf")
        scaled = erf and (self.producer(erf.inputs[0], "Div") or self.producer(erf.inputs[0], "Mul"))
        if scaled is None:
            return None
        x, c = self.split(scaled)
        if scaled.op_type == "Div":
            ok = scaled.input(1) and _scalar(self.ctx, scaled.input(1)) is not None and _close(c, _SQRT2)
        else:
            ok = _close(c, 1.0 / _SQRT2)
        return x if ok else None

    def tanh_argument(self, name):
        """x when `name` is Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)), else None."""
        tanh = self.producer(name, "Tanh")
        scaled = tanh and self.producer(tanh.inputs[0], "Mul")
        inner, c = self.split(scaled) if scaled else (None, None)
        add = _close(c, _TANH_SCALE) and self.producer(inner, "Add")
        if not add or not add.input(1):
            return None
        for x, cubic in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
            size = len(self.nodes)
            mul = self.producer(cubic, "Mul")
            cube, k = self.split(mul) if mul else (None, None)
            power = _close(k, 0.044715) and self.producer(cube, "Pow")
            if power and power.inputs[0] == x and _close(_scalar(self.ctx, power.input(1)), 3.0):
                return x
            del self.nodes[size:]
        return None

    def closed(self, last):
        """No value computed inside the group is read outside it."""
        inside = set(id(n) for n in self.nodes)
        for n in self.nodes:
            for o in n.outputs:
                if o and o != last.outputs[0]:
                    if o in self.ctx.graph_outputs or any(id(u) not in inside for u in self.ctx.consumers.get(o, [])):
                        return False
        return True


def _gelu_at(ctx, producers, last):
    """(x, approximate, nodes) when `last` ends a GELU group, else None."""
    if last.op_type != "Mul" or len(last.outputs) != 1:
        return None
    m = _Match(ctx, producers)
    tensors, scale = m.factors(last.outputs[0], True)
    if len(tensors) != 2 or not _close(scale, 0.5):
        return None
    for x, other in ((tensors[0], tensors[1]), (tensors[1], tensors[0])):
        size = len(m.nodes)
        t = m.one_plus(other)
        for approximate, argument in (("none", m.erf_argument), ("tanh", m.tanh_argument)):
            inner = len(m.nodes)
            if t is not None and argument(t) == x and m.closed(last):
                return x, approximate, list(m.nodes)
            del m.nodes[inner:]
        del m.nodes[size:]
    return None


def fuse_gelu(ctx):
    """Replace every GELU group of `ctx.nodes` by one Gelu node (see the module's docstring)."""
    import onnx

    producers = dict((o, n) for n in ctx.nodes for o in n.outputs if o)
    replaced = {}
    for last in reversed(ctx.nodes):
        if id(last) in replaced:
            continue
        found = _gelu_at(ctx, producers, last)
        if found is None or any(id(n) in replaced for n in found[2]):
            continue
        x, approximate, group = found
        proto = onnx.helper.make_node("Gelu", [x], list(last.outputs), name=last.name, approximate=approximate)
        fused = IRNode(proto, 0)
        for n in group:
            replaced[id(n)] = None
        replaced[id(last)] = fused
    if not replaced:
        return
    nodes = []
    for n in ctx.nodes:
        if id(n) not in replaced:
            nodes.append(n)
        elif replaced[id(n)] is not None:
            nodes.append(replaced[id(n)])
    ctx.nodes = nodes
    ctx.consumers = {}
    for n in nodes:
        for i in n.inputs:
            if i:
                ctx.consumers.setdefault(i, []).append(n)

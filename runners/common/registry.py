"""Op converter registry: one function per (op, since-opset), registered by decorator.

    EMIT = Registry("pytorch", "emit")

    @EMIT.register("Clip", since=11)
    def clip_11(node, ctx, min=None, max=None): ...

Lookup picks the highest `since` at or below the graph's opset. Modules in an `ops` package are
imported by `discover`, so a new op is one new file.
"""

import importlib
import pkgutil

from .errors import UnsupportedOps


class Registry(object):
    def __init__(self, framework, direction, package=None):
        self.framework = framework
        self.direction = direction
        self.package = package  # the `ops` package whose modules register into this registry
        self._table = {}  # op -> {since: fn}
        self._loaded = False

    def loaded(self):
        """This registry with every module of its package imported (once)."""
        if not self._loaded and self.package:
            discover(self.package)
            self._loaded = True
        return self

    def register(self, *ops, **kw):
        since = kw.pop("since", 1)
        if kw:
            raise TypeError("unexpected arguments %r" % sorted(kw))

        def decorate(fn):
            for op in ops:
                versions = self._table.setdefault(op, {})
                if since in versions:
                    raise ValueError(
                        "%s %s: op %s since %d registered twice (%s and %s)"
                        % (self.framework, self.direction, op, since, versions[since].__name__, fn.__name__)
                    )
                versions[since] = fn
            return fn

        return decorate

    def lookup(self, op, opset):
        versions = self._table.get(op)
        if not versions:
            return None
        usable = [v for v in versions if v <= opset]
        return versions[max(usable)] if usable else None

    def ops(self):
        return sorted(self._table)

    def check(self, nodes, opset):
        """Raise UnsupportedOps naming every node (name, op_type) this registry cannot convert."""
        missing = [(name, op) for name, op in nodes if self.lookup(op, opset) is None]
        if missing:
            raise UnsupportedOps(self.direction, self.framework, missing, opset)


def discover(package):
    """Import every module of `package` (a dotted name) so their decorators run."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(package + "." + info.name)


def discovered(registry, package):
    """A function returning `registry` with the modules of `package` imported on first call."""
    done = []

    def get():
        if not done:
            discover(package)
            done.append(True)
        return registry

    return get


def onnx_attributes(node):
    """A NodeProto's attributes as a dict of Python values (onnx.helper semantics)."""
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}

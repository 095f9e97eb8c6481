"""Errors a runner reports to the broker, carried as ErrorDetail in the gRPC trailing metadata."""

from .rpc import ERROR_METADATA_KEY, pb


class RunnerError(Exception):
    """An error the user can act on: names the file, node, op and what to do.

    `reference` is a short kebab-case code (unsupported-op, corrupt-model, unsafe-model, ...).
    """

    grpc_code = "INVALID_ARGUMENT"

    def __init__(self, reference, message, file="", node="", op="", opset=0, hint="", nodes=None, framework=""):
        super(RunnerError, self).__init__(message)
        self.reference = reference
        self.message = message
        self.file = file
        self.node = node
        self.op = op
        self.opset = opset
        self.hint = hint
        self.nodes = list(nodes or [])
        self.framework = framework

    def to_proto(self):
        return pb.ErrorDetail(
            reference=self.reference,
            message=self.message,
            framework=self.framework,
            file=str(self.file),
            node=self.node,
            op=self.op,
            opset=int(self.opset or 0),
            hint=self.hint,
            nodes=self.nodes,
        )

    @classmethod
    def from_proto(cls, detail):
        return cls(
            detail.reference,
            detail.message,
            file=detail.file,
            node=detail.node,
            op=detail.op,
            opset=detail.opset,
            hint=detail.hint,
            nodes=list(detail.nodes),
            framework=detail.framework,
        )

    def __str__(self):
        return describe(self)


def describe(err):
    """One readable line, e.g. `pytorch emit failed at node 'conv1' (Conv, opset 18): ...`."""
    where = []
    if err.node:
        where.append("node '%s'" % err.node)
    what = ""
    if err.op:
        what = " (%s%s)" % (err.op, ", opset %d" % err.opset if err.opset else "")
    text = err.message
    if where:
        text = "at %s%s: %s" % (", ".join(where), what, text)
    elif what:
        text = "%s: %s" % (what.strip(" ()"), text)
    if err.file:
        text = "%s: %s" % (err.file, text)
    return text


class UnsupportedOps(RunnerError):
    """Raised once with every node whose op a converter lacks."""

    def __init__(self, direction, framework, missing, opset=0):
        # missing: list of (node name, op type)
        ops = sorted(set(op for _, op in missing))
        names = ["%s (%s)" % (n, op) for n, op in missing]
        shown = ", ".join(names[:20]) + (" and %d more" % (len(names) - 20) if len(names) > 20 else "")
        super(UnsupportedOps, self).__init__(
            "unsupported-op",
            "%s %s does not support op%s %s, used by %d node%s: %s"
            % (
                framework,
                direction,
                "s" if len(ops) > 1 else "",
                ", ".join(ops),
                len(names),
                "s" if len(names) > 1 else "",
                shown,
            ),
            node=missing[0][0] if missing else "",
            op=missing[0][1] if missing else "",
            opset=opset,
            nodes=names,
            framework=framework,
            hint="convert to another target framework, or replace these ops in the source model",
        )


def abort_with(context, grpc, err):
    """End the current gRPC call with `err` as structured detail."""
    code = getattr(grpc.StatusCode, getattr(err, "grpc_code", "INVALID_ARGUMENT"))
    context.set_trailing_metadata(((ERROR_METADATA_KEY, err.to_proto().SerializeToString()),))
    context.abort(code, str(err))

"""The table of legalization rewrites, filled by decorator (one module per rewrite family)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import onnx

if TYPE_CHECKING:
    from .graph import GraphEditor


@dataclass
class Chain:
    """A rewrite of several nodes: `removed` (the matched node among them) are replaced by `new`,
    placed where the last of `removed` was."""

    removed: list[onnx.NodeProto]
    new: list[onnx.NodeProto]


# apply(node, editor) -> the nodes replacing `node` (or a Chain), or None when this node's form is
# not one the rewrite handles (e.g. a shape it needs is unknown)
Apply = Callable[[onnx.NodeProto, "GraphEditor"], "list[onnx.NodeProto] | Chain | None"]


@dataclass(frozen=True)
class Rewrite:
    name: str
    op: str
    form: str
    produces: tuple[str, ...]
    apply: Apply


REWRITES: dict[str, list[Rewrite]] = {}


def rewrite(op: str, *, form: str | None = None, produces: tuple[str, ...] = ()) -> Callable[[Apply], Apply]:
    """Register `fn` as the rewrite of `op` for targets that lack `form` (default: the op itself)."""

    def decorate(fn: Apply) -> Apply:
        name = fn.__name__
        entries = REWRITES.setdefault(op, [])
        if any(r.name == name for r in entries):
            raise ValueError(f"legalization rewrite {name} of {op} registered twice")
        entries.append(Rewrite(name, op, form or op, produces, fn))
        return fn

    return decorate

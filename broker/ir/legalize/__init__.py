"""Legalization: rewrite the forms a target's emitter lacks into forms it has, once, here.

A runner declares, per output format, the IR ops its emitter converts and the *forms* it lacks
(`Describe.emit_formats`). Each rewrite below declares the form it removes and the ops it
produces; `legalize` applies a rewrite to a node only when the target lacks that form (an op the
target has no converter for, or a named attribute form such as `AveragePool.exclude_pad`) and has
every op the rewrite produces. Rewrites are exact: each is tested on small graphs run through
onnxruntime before and after (tests/unit/test_legalize.py).

Forms (the names runners use in `lacks`):
- an op name (`DepthToSpace`, `SpaceToDepth`, `LRN`, `ScatterND`, `Sum`, `Mean`, `Mish`, `Resize`): the op itself;
- `AveragePool.exclude_pad`: AveragePool with count_include_pad=0 and pads;
- `AveragePool.exclude_pad_asymmetric`: the same with begin pads that differ from end pads;
- `AveragePool.exclude_pad_unlike_same`: the same unless the pads are what TensorFlow's
  padding='same' adds (Keras's 'same' average pooling leaves those out);
- `AveragePool.exclude_pad_wide`: the same with asymmetric pads or a pad over half the kernel;
- `Sum.variadic`, `Max.variadic`, `Min.variadic`, `Mean.variadic`: more than two inputs;
- `Gemm.general`: transA, alpha or beta other than 1, or a B that is not a constant;
- `LRN.even_size`: LRN over an even number of channels.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

import onnx

from ..weights import infer_shapes
from .registry import REWRITES, Chain, Rewrite

__all__ = ["Capabilities", "Chain", "legalize", "Rewrite", "REWRITES", "Applied"]


@dataclass(frozen=True)
class Capabilities:
    """What one emitter expresses: its ops and the forms it lacks."""

    ops: frozenset[str]
    lacks: frozenset[str] = frozenset()

    def has(self, op: str) -> bool:
        return not self.ops or op in self.ops

    def lacks_form(self, form: str, op: str) -> bool:
        return form in self.lacks or (form == op and not self.has(op))


@dataclass
class Applied:
    """The rewrites applied, node by node."""

    rewrites: list[tuple[str, str, str]] = field(default_factory=list)  # (node, op, rewrite)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for _, op, name in self.rewrites:
            key = f"{op} ({name})"
            counts[key] = counts.get(key, 0) + 1
        return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items()))


def _load() -> None:
    if not getattr(_load, "done", False):
        for info in pkgutil.iter_modules(__path__):
            if info.name not in ("registry", "graph"):
                importlib.import_module(f"{__name__}.{info.name}")
        _load.done = True  # type: ignore[attr-defined]


def legalize(model: onnx.ModelProto, caps: Capabilities, max_rounds: int = 8) -> tuple[onnx.ModelProto, Applied]:
    """A copy of `model` with every applicable rewrite applied (to a fixed point), and what was done.
    Nodes no rewrite helps are left as they are, for the caller's check to refuse."""
    from .graph import GraphEditor

    _load()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    applied = Applied()
    for _ in range(max_rounds):
        ed = GraphEditor(out)
        placed: dict[int, list[onnx.NodeProto]] = {}  # index of a node -> the nodes standing for it
        replaced: list[str] = []
        nodes = list(out.graph.node)
        position = {id(n): k for k, n in enumerate(nodes)}
        for k, node in enumerate(nodes):
            if k in placed:
                continue
            for rw in REWRITES.get(node.op_type, []):
                if not (caps.lacks_form(rw.form, node.op_type) and all(caps.has(op) for op in rw.produces)):
                    continue
                new = rw.apply(node, ed)
                if new is None:
                    continue
                chain = new if isinstance(new, Chain) else Chain([node], new)
                spots = sorted(position[id(n)] for n in chain.removed)
                if any(s in placed for s in spots):
                    continue  # overlaps a rewrite already made this round
                for s in spots:
                    placed[s] = []
                    replaced.extend(nodes[s].output)
                placed[spots[-1]] = chain.new
                applied.rewrites.append((node.name or node.output[0], node.op_type, rw.name))
                break
        if not placed:
            break
        result = []
        for k, node in enumerate(nodes):
            result.extend(placed.get(k, [node]))
        kept = [onnx.NodeProto() for _ in result]
        for dst, src in zip(kept, result):
            dst.CopyFrom(src)
        del out.graph.node[:]
        out.graph.node.extend(kept)
        ed.forget_shapes(replaced)
        out = infer_shapes(out, data_prop=True)
    return out, applied

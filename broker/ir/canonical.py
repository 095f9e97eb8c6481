"""The canonical form of the IR: every parsed graph goes through `canonicalize` once, here, before
any emitter sees it, so emitters can rely on it and never fold or simplify on their own.

Canonical means:
- initializers are not graph inputs (an IR-3 export lists every weight as an input, which makes
  it overridable and unfoldable);
- the graph is at the IR opset;
- functions are inlined;
- constants are folded into initializers: Constant nodes, and every node whose inputs are all
  constant, including the shape subgraphs exporters write (Shape -> Gather -> Concat -> Reshape)
  when the input shapes are static;
- inference-only simplifications: Dropout (without training mode) and Identity are removed,
  optional outputs that nothing reads (Dropout's mask, BatchNormalization's training outputs,
  MaxPool's indices) are dropped, dead nodes are removed;
- redundant layout transposes are eliminated (`passes.eliminate_transposes`);
- shapes are inferred and recorded in value_info.

The folding and simplification are onnxscript's optimizer and onnx-ir's passes (pinned in
pyproject.toml; measured on the ONNX model-zoo classics against onnxslim, onnxsim and onnxoptimizer:
the only one of the four that folds every classic exactly, keeps the graph's own names and runs in
the broker without onnxruntime). Only a curated subset of onnxscript's rewrite rules runs: the IR
keeps the model's architecture for retraining, so nothing is fused (no BatchNorm folded into a
convolution, no Pad into a Conv) and no parameter is dropped (an Add of a zero bias stays), and
initializers are not deduplicated (two layers that happen to hold equal weights stay two layers).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import onnx

from runners.common import ir as common_ir

from ..errors import BrokerError
from . import preload, weights
from .passes import eliminate_transposes

CANONICAL_KEY = "mmbroker.canonical"  # metadata: what canonicalization changed (JSON)

# Folding is bounded so a huge computed constant does not bloat the weights: a node is folded when
# none of its inputs has more than this many elements (a Transpose of a weight it alone reads is
# folded whatever its size, as onnxscript does) and its output has at most FOLD_OUTPUT_LIMIT.
FOLD_INPUT_LIMIT = 1 << 24
FOLD_OUTPUT_LIMIT = 1 << 24


@dataclass
class CanonicalReport:
    """What canonicalization changed, for `mmbroker ir info`."""

    opset_from: int = 0
    opset_to: int = common_ir.IR_OPSET
    nodes_before: int = 0
    nodes_after: int = 0
    ops_removed: dict[str, int] = field(default_factory=dict)
    ops_added: dict[str, int] = field(default_factory=dict)
    initializers_before: int = 0
    initializers_after: int = 0
    initializer_inputs_removed: int = 0
    transposes_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        out = []
        if self.opset_from != self.opset_to:
            out.append(f"opset {self.opset_from} -> {self.opset_to}")
        if self.initializer_inputs_removed:
            out.append(f"{self.initializer_inputs_removed} initializers no longer listed as graph inputs")
        if self.ops_removed:
            out.append("removed or folded: " + ", ".join(f"{op} x{n}" for op, n in sorted(self.ops_removed.items())))
        if self.ops_added:
            out.append("added: " + ", ".join(f"{op} x{n}" for op, n in sorted(self.ops_added.items())))
        if self.initializers_after != self.initializers_before:
            out.append(f"initializers {self.initializers_before} -> {self.initializers_after}")
        if self.transposes_removed:
            out.append(f"{self.transposes_removed} layout transposes eliminated")
        out.append(f"nodes {self.nodes_before} -> {self.nodes_after}")
        return out


def _rules() -> Any:
    """The rewrite rules that only simplify (no fusion, no parameter removed)."""
    preload.wait()
    from onnxscript.rewriter import RewriteRuleSet
    from onnxscript.rewriter.rules.common import (
        _basic_rules,
        _cast_constant_of_shape,
        _collapse_slices,
        _materialize_reshape_shape,
    )

    return RewriteRuleSet(
        [
            _basic_rules.cast_cast_rule,
            _basic_rules.no_op_cast_rule,
            _basic_rules.no_op_expand_rule,
            _basic_rules.reshape_reshape_rule,
            _basic_rules.no_op_transpose_rule,
            _basic_rules.transpose_transpose_rule,
            _basic_rules.unsqueeze_unsqueeze_rule,
            *_cast_constant_of_shape.rules,
            *_collapse_slices.rules,
            *_materialize_reshape_shape.rules,
        ]
    )


_FOLDERS: list[str] = []


def _register_folders() -> None:
    """Constant folders for ops whose evaluator in onnx's reference implementation fails on
    ordinary graphs (registered once with onnxscript's folder, which tries them first):

    - GatherElements: onnx.reference picks with np.choose, limited to 64 choices, and its fallback
      reshapes wrongly, so a BERT's token-type ids (a [1, 512] buffer gathered by positions) were
      left unfolded. numpy's take_along_axis is the op.
    - Split: the folder skips every op with several outputs."""
    if _FOLDERS:
        return
    import numpy as np
    import onnx_ir as ir
    from onnxscript.optimizer import _constant_folding as folding

    @folding.register("GatherElements")
    def gather_elements(node: Any, op: Any, state: Any) -> Any:
        data, indices = (folding._get_numpy_value(v, size_limit=FOLD_INPUT_LIMIT) for v in node.inputs[:2])
        if data is None or indices is None or data.ndim != indices.ndim:
            return None
        axis = int(folding._get_int_attribute(node, "axis", 0) or 0) % data.ndim
        indices = np.where(indices < 0, indices + data.shape[axis], indices)
        return op.Constant(value=ir.tensor(np.take_along_axis(data, indices, axis=axis)))

    @folding.register("Split")
    def split(node: Any, op: Any, state: Any) -> Any:
        """onnxscript folds no op of several outputs: MXNet's fused RNN weights are one vector split
        into each layer's matrices."""
        data = folding._get_numpy_value(node.inputs[0], size_limit=FOLD_INPUT_LIMIT)
        if data is None or data.ndim == 0:
            return None
        axis = (folding._get_int_attribute(node, "axis", 0) or 0) % data.ndim
        count = len(node.outputs)
        if len(node.inputs) > 1 and node.inputs[1] is not None:
            sizes = folding._get_numpy_value(node.inputs[1])
            if sizes is None:
                return None
            bounds = np.cumsum(sizes)[:-1]
        elif data.shape[axis] % count == 0:
            bounds = np.arange(1, count) * (data.shape[axis] // count)
        else:  # opset 18's uneven split: parts of ceil(size / count), the last smaller
            step = -(-data.shape[axis] // count)
            bounds = np.arange(1, count) * step
        parts = np.split(data, bounds, axis=axis)
        if len(parts) != count:
            return None
        return [op.Constant(value=ir.tensor(np.ascontiguousarray(p))) for p in parts]

    _FOLDERS.append("GatherElements")


def _should_fold(node: Any) -> bool | None:
    """onnxscript keeps every ConstantOfShape (to keep models small); a constant shape of up to
    FOLD_OUTPUT_LIMIT elements is folded like any constant (MXNet's RNN begin states, zeros of a
    fixed shape, are inputs the recurrent emitters need as constants). None: onnxscript's rules."""
    if node.op_type != "ConstantOfShape" or node.domain not in ("", "ai.onnx"):
        return None
    import numpy as np

    shape = node.inputs[0].const_value if node.inputs and node.inputs[0] is not None else None
    if shape is None:
        return None
    return bool(int(np.prod(shape.numpy())) <= FOLD_OUTPUT_LIMIT) or None


def _optimize(model: onnx.ModelProto) -> onnx.ModelProto:
    preload.wait()
    import onnx_ir as ir
    import onnx_ir.passes.common as common
    from onnxscript.optimizer._constant_folding import FoldConstantsPass
    from onnxscript.rewriter import RewritePass

    # a node the folder cannot evaluate stays in the graph, which is all that matters here; its
    # warning ("Evaluation failed: ...") would read to a user as a failure of the conversion
    logging.getLogger("onnxscript.optimizer._constant_folding").setLevel(logging.ERROR)
    _register_folders()
    m = ir.serde.deserialize_model(model)
    simplify = ir.passes.PassManager(
        [
            FoldConstantsPass(
                shape_inference=True,
                input_size_limit=FOLD_INPUT_LIMIT,
                output_size_limit=FOLD_OUTPUT_LIMIT,
                should_fold=_should_fold,
            ),
            RewritePass(_rules()),
            common.IdentityEliminationPass(),
            common.RemoveUnusedNodesPass(),
        ],
        steps=4,
        early_stop=True,
    )
    ir.passes.Sequential(
        common.RemoveInitializersFromInputsPass(),
        common.InlinePass(),
        simplify,
        common.RemoveUnusedFunctionsPass(),
        common.RemoveUnusedOpsetsPass(),
        common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
        common.LiftSubgraphInitializersToMainGraphPass(),
        common.RemoveUnusedNodesPass(),
        common.TopologicalSortPass(),
        common.OutputFixPass(),
        common.NameFixPass(),
    )(m)
    return ir.serde.serialize_model(m)


def _convert_opset(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    current = common_ir.opset_of(model)
    if current == common_ir.IR_OPSET:
        return common_ir.set_ir_version(model)
    preload.wait()
    from onnx import version_converter

    try:
        converted = version_converter.convert_version(weights.without_data(model), common_ir.IR_OPSET)
        return common_ir.set_ir_version(weights.restore(converted, weights.stubs(model)))
    except Exception as exc:
        raise BrokerError(
            f"cannot convert from opset {current} to the IR opset {common_ir.IR_OPSET}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
            reference="unsupported-opset",
            file=where,
            opset=current,
            hint=f"export the model at opset {common_ir.IR_OPSET}",
        ) from exc


# ops one of the optimizer's rewrites (the _rules above, Identity and Dropout removal) may change, and
# those its constant folder evaluates from shapes rather than values (CastLike becomes a Cast, Shape
# and Size of a static shape constants) or rewrites in sequences and branches
_REWRITTEN = {"Cast", "Expand", "Reshape", "Transpose", "Unsqueeze", "Slice", "Identity", "Dropout",
              "ConstantOfShape", "Constant", "CastLike", "Shape", "Size", "If", "SequenceConstruct",
              "ConcatFromSequence", "SplitToSequence", "SequenceAt"}  # fmt: skip


def _keep(repeated: Any, keep: Any) -> None:
    """Keep in a protobuf repeated field only the items `keep` says to, in order."""
    kept = [item for item in repeated if keep(item)]
    if len(kept) != len(repeated):
        del repeated[:]
        repeated.extend(kept)


def _take_out_the_obvious(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` without what the optimizer takes out first and needs no evaluation to take out,
    changed in place: initializers listed as graph inputs, as IR 3 required (its
    RemoveInitializersFromInputsPass), and inference Dropouts (no training mode, the mask read by
    nothing, the output not a graph output), whose readers read the Dropout's input instead (its
    Dropout rule, then its Identity elimination), with the Constant ratios only they read. The ONNX
    model zoo's older CNNs (Caffe2's AlexNet, VGG, SqueezeNet, ZFNet) have both and nothing else
    for the optimizer: without them they take the fast path. Returns the model."""
    g = model.graph
    constant = {i.name for i in g.initializer}
    _keep(g.input, lambda i: i.name not in constant)
    if any(a.type in (a.GRAPH, a.GRAPHS) for n in g.node for a in n.attribute):
        return model  # a subgraph may read a Dropout's output by name
    outputs = {o.name for o in g.output}
    readers: Counter[str] = Counter(i for n in g.node for i in n.input if i)
    # a Constant ratio the optimizer folds away still shifts the names it makes for unnamed nodes:
    # taken out here only when every other node has its own name (Caffe2's exports)
    named = all(n.name for n in g.node if n.op_type != "Constant")
    made_by_constant = {n.output[0]: n for n in g.node if n.op_type == "Constant" and len(n.output) == 1 and named}
    bypass: dict[str, str] = {}  # a Dropout's output -> what its readers read instead
    dropped: list[onnx.NodeProto] = []
    ratios: Counter[str] = Counter()  # Constant ratio -> its readers among the Dropouts taken out
    for node in g.node:
        if node.op_type != "Dropout" or node.domain not in ("", "ai.onnx") or not node.input[0]:
            continue
        ins, outs = list(node.input), list(node.output)
        if len(ins) > 2 and ins[2] or len(ins) > 1 and ins[1] and ins[1] not in made_by_constant:
            continue  # a training mode, or a ratio that is not a Constant node's
        if outs[0] in outputs or len(outs) > 1 and outs[1] and (readers[outs[1]] or outs[1] in outputs):
            continue
        bypass[outs[0]] = bypass.get(ins[0], ins[0])
        dropped.append(node)
        if len(ins) > 1 and ins[1]:
            ratios[ins[1]] += 1
    if bypass:
        dropped += [made_by_constant[r] for r, n in ratios.items() if readers[r] == n and r not in outputs]
        gone, values = {id(n) for n in dropped}, {o for n in dropped for o in n.output}
        _keep(g.node, lambda n: id(n) not in gone)
        for node in g.node:
            for k, name in enumerate(node.input):
                if name in bypass:
                    node.input[k] = bypass[name]
        _keep(g.value_info, lambda v: v.name not in values)
    return model


def _nothing_to_simplify(model: onnx.ModelProto) -> bool:
    """Whether the optimizer would return `model` as it is: no function, subgraph or initializer
    listed as an input; no node whose inputs are all constant (nothing to fold); none of the ops
    its rewrites look at, except a Reshape to a constant shape whose input no other Reshape made;
    every node output and initializer read; nodes in order; outputs made
    by nodes, once each. Most parsed CNNs are such graphs (MXNet's, Caffe's, Keras'), and
    onnxscript with onnx-ir (and sympy) cost a cold conversion more than half a second of CPU to
    import on a 2-core machine, for nothing. Conservative: anything else goes to the optimizer."""
    g = model.graph
    if model.functions or any(n.domain not in ("", "ai.onnx") for n in g.node):
        return False
    if any(o.domain not in ("", "ai.onnx") for o in model.opset_import):
        return False
    constant = {i.name for i in g.initializer}
    if any(i.name in constant for i in g.input):
        return False
    defined = {i.name for i in g.input} | constant
    consumed: Counter[str] = Counter()
    made_by: dict[str, str] = {}
    for node in g.node:
        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            return False
        ins = [i for i in node.input if i]
        if any(i not in defined for i in ins) or all(i in constant for i in ins):
            return False  # out of order, or foldable (a node without inputs is a constant too)
        if node.op_type == "Concat" and len(ins) == 1:  # the folder makes it an Identity
            return False
        if node.op_type in _REWRITTEN:
            if node.op_type != "Reshape" or len(ins) != 2 or ins[1] not in constant:
                return False
            if made_by.get(ins[0]) == "Reshape":
                return False
        consumed.update(ins)
        for o in node.output:
            if not o or o in defined:
                return False
            defined.add(o)
            made_by[o] = node.op_type
    outputs = [o.name for o in g.output]
    if len(set(outputs)) != len(outputs) or any(o not in made_by for o in outputs):
        return False
    consumed.update(outputs)
    return all(o in consumed for o in made_by) and all(i.name in consumed for i in g.initializer)


def _name_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` (modified) with its nodes named as the optimizer's last pass (onnx-ir's NameFixPass
    with its SimpleNameGenerator) names them: in graph order, an unnamed node `node`, then
    `node_1`...; a name already taken gets `_1`, `_2`... The fast path of `canonicalize` must give
    the graph the optimizer would. Main graph only: the fast path takes no subgraph."""
    used: set[str] = set()
    counter: Counter[str] = Counter()
    for node in model.graph.node:
        preferred = node.name or "node"
        if node.name and node.name not in used:
            used.add(node.name)
            continue
        name = preferred
        while name in used:
            counter[preferred] += 1
            name = f"{preferred}_{counter[preferred]}"
        used.add(name)
        node.name = name
    return model


def _empty_concat_operand(model: onnx.ModelProto) -> bool:
    """Whether a Concat of the shape-inferred `model` has an operand of size 0 on its axis, which
    the folder drops."""
    dims = {v.name: v.type.tensor_type.shape.dim for v in [*model.graph.input, *model.graph.value_info]}
    dims.update({i.name: i.dims for i in model.graph.initializer})  # type: ignore[misc]
    for node in model.graph.node:
        if node.op_type != "Concat":
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        for name in node.input:
            shape = list(dims.get(name, []))
            if axis is not None and shape and -len(shape) <= axis < len(shape):
                d = shape[axis]
                if (d == 0) if isinstance(d, int) else (d.HasField("dim_value") and d.dim_value == 0):
                    return True
    return False


def is_canonical(model: onnx.ModelProto) -> bool:
    return any(p.key == CANONICAL_KEY for p in model.metadata_props)


def canonicalize(model: onnx.ModelProto, where: str = "") -> tuple[onnx.ModelProto, CanonicalReport]:
    """The canonical form of `model` (a full model, weights inside) and what changed. The input is
    changed only where that changes nothing it computes: its IR version raised, the initializers it
    lists as inputs unlisted, its inference Dropouts bypassed (_take_out_the_obvious)."""
    report = CanonicalReport(
        opset_from=common_ir.opset_of(model),
        nodes_before=len(model.graph.node),
        initializers_before=len(model.graph.initializer),
    )
    before = Counter(n.op_type for n in model.graph.node)
    inits = {i.name for i in model.graph.initializer}
    report.initializer_inputs_removed = sum(1 for i in model.graph.input if i.name in inits)
    props = {p.key: p.value for p in model.metadata_props}
    out = _convert_opset(model, where)
    try:
        out = _take_out_the_obvious(out)
        # a graph with nothing to simplify gets the optimizer's shape inference only
        inferred = weights.infer_shapes(out, data_prop=True) if _nothing_to_simplify(out) else None
        if inferred is not None and not _empty_concat_operand(inferred):
            out = _name_nodes(inferred)
        else:
            out = _optimize(out)
    except BrokerError:
        raise
    except Exception as exc:  # the library failed on this graph: a bug to report, with the file named
        raise BrokerError(
            f"simplifying the IR graph failed: {type(exc).__name__}: {str(exc).strip()[:300]}",
            reference="internal-bug",
            file=where,
            hint="run again with --debug and report it with the model",
        ) from exc
    transposes = sum(1 for n in out.graph.node if n.op_type == "Transpose")
    out = eliminate_transposes(out)
    report.transposes_removed = transposes - sum(1 for n in out.graph.node if n.op_type == "Transpose")
    after = Counter(n.op_type for n in out.graph.node)
    report.ops_removed = {op: n - after.get(op, 0) for op, n in before.items() if n > after.get(op, 0)}
    report.ops_added = {op: n - before.get(op, 0) for op, n in after.items() if n > before.get(op, 0)}
    report.nodes_after = len(out.graph.node)
    report.initializers_after = len(out.graph.initializer)
    props[CANONICAL_KEY] = json.dumps(report.to_dict(), sort_keys=True)
    del out.metadata_props[:]
    for k, v in props.items():
        out.metadata_props.add(key=k, value=v)
    return out, report


def canonical_report(model: onnx.ModelProto) -> CanonicalReport | None:
    """What canonicalization recorded in `model`, if it ran."""
    for p in model.metadata_props:
        if p.key == CANONICAL_KEY:
            try:
                return CanonicalReport(**json.loads(p.value))
            except (ValueError, TypeError):
                return None
    return None


def free_inputs(model: onnx.ModelProto) -> dict[str, list[int | None]]:
    """The graph inputs with at least one free (unknown or symbolic) dimension."""
    out = {}
    for vi in common_ir.graph_inputs(model):
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                for d in vi.type.tensor_type.shape.dim]  # fmt: skip
        if any(d is None for d in dims):
            out[vi.name] = dims
    return out


def specialize(model: onnx.ModelProto, shapes: dict[str, list[int]], where: str = "") -> onnx.ModelProto:
    """The canonical form of `model` with the free dimensions of its inputs fixed to `shapes` (what a
    target that cannot keep a dimension free is given): shape computations that depended on them
    fold away. The input is not modified."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    free_batch = [n for n, dims in free_inputs(model).items() if n in shapes and len(dims) >= 2 and dims[0] is None]
    if free_batch:  # an emitter whose code holds only the batch free keeps it free (Keras's batch_size=None)
        out.metadata_props.add(key=common_ir.FREE_BATCH_KEY, value=json.dumps(free_batch))
    for vi in out.graph.input:
        if vi.name not in shapes:
            continue
        dims = vi.type.tensor_type.shape.dim
        for d, value in zip(dims, shapes[vi.name]):
            if not (d.HasField("dim_value") and d.dim_value > 0):
                d.Clear()
                d.dim_value = int(value)
    del out.graph.value_info[:]  # inferred again from the fixed inputs
    for o in out.graph.output:
        for d in o.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()
    specialized, _ = canonicalize(out, where)
    return specialized

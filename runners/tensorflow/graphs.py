"""TensorFlow graphs (SavedModel, TF1 checkpoint, frozen .pb) as one frozen GraphDef with named
inputs and outputs: what both Parse (through tf2onnx) and Infer (a TF session) work on.

Inputs default to the graph's Placeholders, outputs to the nodes nothing else reads (saver,
initializer and training nodes left out). `--dstNode`/`--inNode`-style names may be given with
or without the `:0` suffix.
"""

from dataclasses import dataclass, field

from runners.common.errors import RunnerError
from runners.common.loading import corrupt

# Node types that are never a model output: bookkeeping of savers, initializers and training.
_NOT_OUTPUTS = {
    "NoOp",
    "Assign",
    "AssignVariableOp",
    "AssignAdd",
    "AssignSub",
    "SaveV2",
    "RestoreV2",
    "MergeV2Checkpoints",
    "Const",
    "VariableV2",
    "Variable",
    "VarHandleOp",
    "VarIsInitializedOp",
    "ReadVariableOp",
    "Placeholder",
    "PlaceholderWithDefault",
    "StringJoin",
    "ShardedFilename",
    "Pack",
}
_TRAINING_PREFIXES = ("save/", "save_1/", "gradients/", "train/", "init", "report_uninitialized")


@dataclass
class FrozenGraph:
    graph_def: object
    inputs: list  # tensor names, "x:0"
    outputs: list
    shapes: dict = field(default_factory=dict)  # input tensor -> [dims or None]
    rename: dict = field(default_factory=dict)  # tensor name -> IR value name


def tensor_name(name):
    return name if ":" in name else name + ":0"


def node_name(name):
    return name.split(":")[0].lstrip("^")


def _sinks(graph_def):
    read = {node_name(i) for n in graph_def.node for i in n.input}
    return [
        n.name
        for n in graph_def.node
        if n.name not in read and n.op not in _NOT_OUTPUTS and not n.name.startswith(_TRAINING_PREFIXES)
    ]


def _placeholders(graph_def):
    return [n.name for n in graph_def.node if n.op == "Placeholder"]


def _check_names(graph_def, names, path, what):
    known = {n.name for n in graph_def.node}
    missing = [n for n in names if node_name(n) not in known]
    if missing:
        sinks = _sinks(graph_def)
        others = sorted(known - set(sinks))
        shown = sinks + [n for n in others if not n.startswith(_TRAINING_PREFIXES)][: max(0, 30 - len(sinks))]
        raise RunnerError(
            "unknown-node",
            "no %s node named %s in the graph" % (what, ", ".join("'%s'" % m for m in missing)),
            file=path,
            node=node_name(missing[0]),
            hint="output candidates (nodes nothing reads first): %s" % ", ".join(shown),
        )


def _static_shape(graph_def, name):
    for n in graph_def.node:
        if n.name == node_name(name) and "shape" in n.attr:
            s = n.attr["shape"].shape
            if s.unknown_rank:
                return None
            return [d.size if d.size >= 0 else None for d in s.dim]
    return None


def _apply_input_specs(fg, specs, path):
    """--inputShape: by name or position; a shape one shorter than the input's rank gets batch 1
    in front (MMdnn's `299,299,3`); remaining unknown batch dimensions become 1."""
    by_name = {node_name(s.name): s for s in specs if s.name}
    unnamed = [s for s in specs if not s.name]
    for i, t in enumerate(fg.inputs):
        spec = by_name.get(node_name(t)) or (unnamed[i] if i < len(unnamed) else None)
        shape = fg.shapes.get(t)
        if spec is not None and spec.shape:
            given = [int(d) if d > 0 else None for d in spec.shape]
            if shape is not None and len(given) == len(shape) - 1:
                given = [1] + given
            shape = given
        if shape is None:
            raise RunnerError(
                "missing-input-shape",
                "the shape of input '%s' is not in the graph" % node_name(t),
                file=path,
                node=node_name(t),
                hint="give it with --inputShape %s:H,W,C (batch 1 is added)" % node_name(t),
            )
        if shape and shape[0] is None:
            shape = [1] + shape[1:]
        if any(d is None for d in shape):
            raise RunnerError(
                "missing-input-shape",
                "input '%s' has unknown dimensions %s" % (node_name(t), ["?" if d is None else d for d in shape]),
                file=path,
                node=node_name(t),
                hint="give the full shape with --inputShape %s:H,W,C" % node_name(t),
            )
        fg.shapes[t] = shape
    unknown = [s.name for s in specs if s.name and node_name(s.name) not in {node_name(t) for t in fg.inputs}]
    if unknown:
        raise RunnerError(
            "unknown-node",
            "the graph has no input %s (inputs: %s)" % (unknown, [node_name(t) for t in fg.inputs]),
            file=path,
            hint="name one of the graph's inputs in --inputShape",
        )


def _finish(graph_def, inputs, outputs, path, specs, optimize):
    _check_names(graph_def, inputs, path, "input")
    if not outputs:
        outputs = _sinks(graph_def)
        if not outputs:
            raise RunnerError("unknown-node", "the graph has no output node", file=path, hint="name one with --dstNode")
    _check_names(graph_def, outputs, path, "output")
    inputs = [tensor_name(i) for i in inputs or _placeholders(graph_def)]
    outputs = [tensor_name(o) for o in outputs]
    fg = FrozenGraph(graph_def, inputs, outputs, {t: _static_shape(graph_def, t) for t in inputs})
    _apply_input_specs(fg, specs, path)
    fg.rename = {t: node_name(t) if t.endswith(":0") else t.replace(":", "_") for t in inputs + outputs}
    if optimize:
        import tensorflow as tf
        from tf2onnx import tf_loader

        with tf.Graph().as_default():  # grappler goes through a meta graph: graph mode only
            fg.graph_def = tf_loader.tf_optimize(inputs, outputs, fg.graph_def)
    return fg


def _import_graph_def(path):
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as f:
            gd.ParseFromString(f.read())
    except Exception as exc:
        raise corrupt(path, exc, "frozen TensorFlow graph (.pb)")
    if not gd.node:
        raise corrupt(path, ValueError("the graph has no nodes"), "frozen TensorFlow graph (.pb)")
    return gd


def _frozen(src, inputs, outputs, specs, optimize):
    gd = _import_graph_def(src.path)
    variables = [n.name for n in gd.node if n.op in ("VariableV2", "VarHandleOp")]
    if variables:
        raise RunnerError(
            "unsupported-format",
            "the graph still has variables (%s): it is not a frozen graph" % ", ".join(variables[:5]),
            file=src.path,
            hint="give the checkpoint instead (.meta with -iw prefix), or freeze the graph first",
        )
    return _finish(gd, inputs, outputs, src.path, specs, optimize)


def _checkpoint(src, inputs, outputs, specs, optimize):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        try:
            saver = tf.compat.v1.train.import_meta_graph(src.path, clear_devices=True)
        except Exception as exc:
            raise corrupt(src.path, exc, "TF1 checkpoint graph (.meta)")
        gd = graph.as_graph_def()
        outputs = list(outputs) or _sinks(gd)
        _check_names(gd, list(inputs) + outputs, src.path, "output" if not inputs else "input/output")
        with tf.compat.v1.Session(graph=graph) as sess:
            try:
                saver.restore(sess, src.prefix)
            except Exception as exc:
                raise corrupt(src.prefix, exc, "TF1 checkpoint data")
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, gd, [node_name(o) for o in outputs]
            )  # keeps only what the outputs need: saver and training nodes go
    return _finish(frozen, inputs, outputs, src.path, specs, optimize)


def _saved_model(src, inputs, outputs, specs, optimize):
    from tf2onnx import tf_loader

    try:
        frozen, in_names, out_names, rename = tf_loader.from_saved_model(
            src.path, inputs or None, outputs or None, return_tensors_to_rename=True
        )
    except Exception as exc:
        raise corrupt(src.path, exc, "SavedModel")
    fg = FrozenGraph(frozen, list(in_names), list(out_names), {t: _static_shape(frozen, t) for t in in_names})
    _apply_input_specs(fg, specs, src.path)
    fg.rename = {t: rename.get(t, node_name(t)) for t in fg.inputs + fg.outputs}
    return fg


def load_graph(src, inputs=(), outputs=(), specs=(), optimize=True):
    """The FrozenGraph of a savedmodel / checkpoint / frozen Source."""
    loader = {"frozen": _frozen, "checkpoint": _checkpoint, "savedmodel": _saved_model}[src.kind]
    return loader(src, list(inputs), list(outputs), list(specs), optimize)


def run(fg, feeds_by_name):
    """Run a FrozenGraph in a TF session; feeds keyed by IR name (or tensor name). Returns
    [(IR name, array)] in output order."""
    import tensorflow as tf

    back = {v: k for k, v in fg.rename.items()}
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(fg.graph_def, name="")
    feed = {}
    names = list(feeds_by_name)
    for i, t in enumerate(fg.inputs):
        ir_name = fg.rename.get(t, t)
        key = ir_name if ir_name in feeds_by_name else (t if t in feeds_by_name else None)
        if key is None and len(names) == len(fg.inputs):
            key = names[i]
        if key is None:
            raise RunnerError(
                "bad-input", "no tensor given for input '%s' (given: %s)" % (ir_name, names), hint="name the inputs"
            )
        feed[graph.get_tensor_by_name(back.get(ir_name, t))] = feeds_by_name[key]
    with tf.compat.v1.Session(graph=graph) as sess:
        values = sess.run([graph.get_tensor_by_name(t) for t in fg.outputs], feed)
    return [(fg.rename.get(t, t), v) for t, v in zip(fg.outputs, values)]

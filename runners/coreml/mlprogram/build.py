"""IR graph -> MIL program -> .mlpackage (written atomically: a temporary package renamed into place)."""

import json
import os
import shutil

import numpy as np

from runners.common import ir
from runners.common.emit_graph import IRNode, convert_nodes
from runners.common.errors import RunnerError
from runners.common.onnx_models import first_line, ir_model
from runners.common.registry import discover

from .common import NAMES_KEY, TO_MIL, Names

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize).
LACKS = ("AveragePool.exclude_pad_asymmetric", "Gemm.general")

_discovered = []


def registry():
    if not _discovered:
        discover("runners.coreml.mlprogram.to_mil")
        _discovered.append(True)
    return TO_MIL


class MilContext(object):
    """What a converter works with: IR values as MIL Vars or numpy constants, shapes, names."""

    def __init__(self, shapes, consts, names, path):
        self.shapes = shapes
        self.consts = consts
        self.names = names
        self.path = path
        self.values = {}  # IR value name -> MIL Var
        self.node = None

    def const(self, name):
        return self.consts.get(name) if name else None

    def shape(self, name):
        if name in self.consts:
            return list(self.consts[name].shape)
        return self.shapes.get(name)

    def need_shape(self, name):
        shape = self.shape(name)
        if shape is None or any(d is None or d < 0 for d in shape):
            raise self.fail("the shape of '%s' must be known" % name, hint="give the input shapes with --inputShape")
        return [int(d) for d in shape]

    def x(self, name):
        """A MIL Var for a computed value, or the numpy array of a constant."""
        if name in self.values:
            return self.values[name]
        if name in self.consts:
            return np.asarray(self.consts[name])
        raise self.fail("value '%s' is not produced before it is used" % name)

    def var(self, name):
        """Always a Var (a constant becomes a const op)."""
        from coremltools.converters.mil import Builder as mb

        value = self.x(name)
        if isinstance(value, np.ndarray):
            value = mb.const(val=value.astype(np.float32) if value.dtype == np.float64 else value)
            self.values[name] = value
        return value

    def out(self, node, i=0):
        return self.names.mil(node.outputs[i])

    def set(self, node, var, i=0):
        self.values[node.outputs[i]] = var
        return var

    def alias(self, node, name):
        if name in self.values:
            self.values[node.outputs[0]] = self.values[name]
        else:
            self.consts[node.outputs[0]] = self.consts[name]

    def fail(self, message, reference="unsupported-attribute", hint=""):
        node = self.node
        return RunnerError(
            reference,
            message,
            file=self.path,
            node=node.name if node else "",
            op=node.op if node else "",
            hint=hint or "save as a NeuralNetwork .mlmodel instead, or change the model",
        )


def build_program(graph_bytes, weights_path, path=""):
    """(MIL Program, Names) of an IR graph and its weights."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import Function, Program
    from onnx import numpy_helper

    from ..emit import _shapes

    model = ir_model(graph_bytes, weights_path)
    opset = ir.opset_of(model)
    consts = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    nodes = [IRNode(n, i) for i, n in enumerate(model.graph.node)]
    names = Names()
    ctx = MilContext(_shapes(model), consts, names, path)
    placeholders = {}
    inputs = ir.graph_inputs(model)
    for vi in inputs:
        placeholders[names.mil(vi.name)] = mb.placeholder(shape=tuple(ctx.need_shape(vi.name)))
    prog = Program()
    with Function(placeholders, opset_version=ct.target.iOS15) as fn:
        for vi in inputs:
            ctx.values[vi.name] = fn.inputs[names.mil(vi.name)]
        try:
            convert_nodes(registry(), nodes, ctx, opset)
        except (ValueError, AssertionError) as exc:
            raise ctx.fail("the MIL builder rejects this op: %s" % first_line(exc))
        ctx.node = None
        outputs = []
        for o in model.graph.output:
            if o.name not in ctx.values:
                raise RunnerError("unsupported-attribute", "output '%s' is a constant" % o.name, file=path)
            var = ctx.values[o.name]
            if var.name != names.mil(o.name) or var in outputs:
                var = mb.identity(x=var, name=names.mil(o.name))
            outputs.append(var)
        fn.set_outputs(outputs)
    prog.add_function("main", fn)
    return prog, names, model


def save_mlpackage(graph_bytes, weights_path, out):
    """Build the program and write it to `out` (.mlpackage); returns `out`."""
    import coremltools as ct

    prog, names, model = build_program(graph_bytes, weights_path, out)
    try:
        mlmodel = ct.convert(
            prog,
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS15,
            compute_precision=ct.precision.FLOAT32,
            pass_pipeline=ct.PassPipeline.EMPTY,
        )
    except Exception as exc:
        raise RunnerError("convert-failed", "coremltools cannot write this ML Program: %s" % first_line(exc), file=out)
    mlmodel.short_description = "converted by mmbroker from the IR (opset %d)" % ir.opset_of(model)
    mlmodel.user_defined_metadata[NAMES_KEY] = json.dumps(names.to_ir, sort_keys=True)
    for p in model.metadata_props:
        mlmodel.user_defined_metadata["mmbroker." + p.key] = p.value
    tmp = "%s.tmp-%d.mlpackage" % (out[: -len(".mlpackage")] if out.endswith(".mlpackage") else out, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        mlmodel.save(tmp)
        if os.path.exists(out):
            old = "%s.old-%d" % (out, os.getpid())
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
